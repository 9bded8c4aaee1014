import {
  choosePartSize,
  DEFAULT_PART_SIZE,
  GiB,
  MAX_PARTS,
  MiB,
  MIN_PART_SIZE,
  parseSize,
} from '../../../scripts/lib/partSize';

describe('choosePartSize', () => {
  it("defaults to B2's recommended 100 MB", () => {
    expect(choosePartSize()).toBe(100_000_000);
    expect(choosePartSize(1 * GiB)).toBe(DEFAULT_PART_SIZE);
  });

  it('keeps a 500 GiB stream under 10,000 parts (100 MB parts already do)', () => {
    const size = 500 * GiB;
    const part = choosePartSize(size);
    expect(Math.ceil(size / part)).toBeLessThan(MAX_PARTS);
  });

  it('grows parts for larger expected sizes, with headroom', () => {
    const size = 2 * 1024 * GiB; // 2 TiB
    const part = choosePartSize(size);
    expect(part).toBeGreaterThan(DEFAULT_PART_SIZE);
    expect(part % MiB).toBe(0);
    // a stream 20% larger than expected still fits
    expect(Math.ceil((size * 1.2) / part)).toBeLessThanOrEqual(MAX_PARTS);
    // a requested small part is raised too
    expect(Math.ceil(size / choosePartSize(size, MIN_PART_SIZE))).toBeLessThanOrEqual(MAX_PARTS);
  });

  it('refuses parts outside 5 MiB..5 GiB', () => {
    expect(() => choosePartSize(undefined, 4 * MiB)).toThrow(/--part-size must be between 5 MiB and 5 GiB/);
    expect(() => choosePartSize(undefined, 6 * GiB)).toThrow(/--part-size/);
    expect(() => choosePartSize(60_000 * GiB)).toThrow(/cannot fit 10,000 parts/);
  });
});

describe('parseSize', () => {
  it('reads decimal and binary units', () => {
    expect(parseSize('100MB')).toBe(100_000_000);
    expect(parseSize('64MiB')).toBe(64 * MiB);
    expect(parseSize('5GiB')).toBe(5 * GiB);
    expect(parseSize('1.5GB')).toBe(1_500_000_000);
    expect(parseSize('1024')).toBe(1024);
    expect(() => parseSize('lots', '--part-size')).toThrow(/--part-size: cannot parse "lots"/);
  });
});
