import {
  choosePartSize,
  DEFAULT_PART_SIZE,
  GiB,
  GROWTH_EVERY_PARTS,
  MAX_PART_SIZE,
  MAX_PARTS,
  MiB,
  MIN_PART_SIZE,
  parseSize,
  partSizeFor,
  partsNeeded,
} from '../../../scripts/lib/partSize';

describe('choosePartSize', () => {
  it('defaults to 16 MiB parts, small enough to hold in memory', () => {
    expect(choosePartSize()).toBe(16 * MiB);
    expect(choosePartSize(1 * GiB)).toBe(DEFAULT_PART_SIZE);
  });

  it('keeps an expected 500 GiB stream under 10,000 fixed-size parts, with headroom', () => {
    const size = 500 * GiB;
    const part = choosePartSize(size);
    expect(part).toBeGreaterThan(DEFAULT_PART_SIZE);
    expect(Math.ceil((size * 1.2) / part)).toBeLessThan(MAX_PARTS);
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

describe('partSizeFor (parts grow as a stream outgrows its estimate)', () => {
  it('keeps the first 2,000 parts at the starting size, then doubles every 2,000 parts', () => {
    expect(partSizeFor(1, DEFAULT_PART_SIZE)).toBe(16 * MiB);
    expect(partSizeFor(GROWTH_EVERY_PARTS, DEFAULT_PART_SIZE)).toBe(16 * MiB);
    expect(partSizeFor(GROWTH_EVERY_PARTS + 1, DEFAULT_PART_SIZE)).toBe(32 * MiB);
    expect(partSizeFor(4 * GROWTH_EVERY_PARTS + 1, DEFAULT_PART_SIZE)).toBe(256 * MiB);
    expect(partSizeFor(MAX_PARTS, 1 * GiB)).toBe(MAX_PART_SIZE);
  });

  it('fits a 500 GiB stream of unknown size in under 10,000 parts, and ~1 TB in all', () => {
    expect(partsNeeded(500 * GiB, choosePartSize())).toBeLessThan(MAX_PARTS);
    expect(partsNeeded(960 * GiB, choosePartSize())).toBeLessThanOrEqual(MAX_PARTS);
    expect(partsNeeded(0, DEFAULT_PART_SIZE)).toBe(1);
    expect(partsNeeded(16 * MiB + 1, DEFAULT_PART_SIZE)).toBe(2);
  });

  it('never needs more parts than fixed-size parts would', () => {
    for (const size of [1 * GiB, 100 * GiB, 2 * 1024 * GiB]) {
      const base = choosePartSize(size);
      expect(partsNeeded(size, base)).toBeLessThanOrEqual(Math.max(1, Math.ceil(size / base)));
    }
  });
});
