/**
 * Signed run manifests (scripts/lib/manifestSignature.ts): the canonical serialization round-trips
 * through the stored (pretty-printed) body for arbitrary manifests, unicode keys and values
 * included, so a signature made by the writer verifies for the reader; and any single change to a
 * signed manifest — one field's value, a field added or removed, another key — breaks it.
 */
import fc from 'fast-check';
import {
  canonicalManifest,
  checkSignature,
  loadManifestKey,
  parseManifestKey,
  signManifest,
} from '../../../scripts/lib/manifestSignature';
import { UsageError } from '../../../scripts/lib/errors';

const KEY = parseManifestKey(Buffer.alloc(32, 3).toString('base64'), 'test');
const OTHER = parseManifestKey('ab'.repeat(32), 'test');

/** JSON values as a manifest holds them (no -0: JSON writes it as 0). */
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'binary' }),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).filter((d) => !Object.is(d, -0)),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    tie('object'),
  ),
  object: fc.dictionary(
    fc.string({ unit: 'binary' }).filter((k) => k !== '__proto__'),
    tie('value'),
    { maxKeys: 5 },
  ),
}));

const manifest = fc.record({
  job: fc.string({ unit: 'binary' }),
  startedAt: fc.string(),
  status: fc.constantFrom('ok', 'failed'),
  objects: fc.array(
    fc.record({
      key: fc.string({ unit: 'binary' }),
      sha256: fc.string({ unit: fc.constantFrom(...'0123456789abcdef') }),
      size: fc.nat(),
    }),
    { maxLength: 3 },
  ),
  details: json.object,
});

/** What the writer stores and the reader gets back. */
const stored = (m: object): unknown => JSON.parse(JSON.stringify(signManifest(m, KEY), null, 2) + '\n');

describe('canonical serialization', () => {
  it('round-trips: parse → delete signature → stringify equals what was signed', () => {
    fc.assert(
      fc.property(manifest, (m) => {
        expect(canonicalManifest(stored(m) as object)).toBe(canonicalManifest(m));
        expect(checkSignature(stored(m), KEY)).toEqual({ state: 'valid' });
      }),
    );
  });

  it('unicode keys and values (astral, combining, RTL) sign and verify', () => {
    const m = { job: 'db-dump', details: { 'ключ ✓ 𝄞': 'e\u0301 שלום 🙂', '': [1, { ü: null }] } };
    expect(checkSignature(stored(m), KEY)).toEqual({ state: 'valid' });
  });
});

describe('any single change breaks the signature', () => {
  it('a changed value of any top-level or object field', () => {
    fc.assert(
      fc.property(manifest, fc.string({ unit: 'binary', minLength: 1 }), (m, extra) => {
        const s = stored(m) as Record<string, unknown>;
        const fields = Object.keys(s).filter((k) => k !== 'signature');
        for (const f of fields) {
          const t = structuredClone(s);
          t[f] = JSON.stringify(t[f]) + extra; // a different value, same field
          expect(checkSignature(t, KEY).state).toBe('invalid');
        }
        for (let i = 0; i < (m.objects ?? []).length; i++) {
          const t = structuredClone(s) as { objects: { sha256: string }[] };
          t.objects[i].sha256 = t.objects[i].sha256 + 'f';
          expect(checkSignature(t, KEY).state).toBe('invalid');
        }
      }),
    );
  });

  it('a field added or removed, or the signature value edited', () => {
    fc.assert(
      fc.property(manifest, fc.string({ unit: 'binary' }), (m, name) => {
        const s = stored(m) as Record<string, unknown>;
        const added = { ...s, [name === 'signature' ? 'x' : name]: 1 };
        if (!(name in s)) expect(checkSignature(added, KEY).state).toBe('invalid');
        const removed = structuredClone(s);
        delete removed.details;
        expect(checkSignature(removed, KEY).state).toBe('invalid');
        const sig = structuredClone(s) as { signature: { value: string } };
        sig.signature.value = (sig.signature.value[0] === '0' ? '1' : '0') + sig.signature.value.slice(1);
        expect(checkSignature(sig, KEY).state).toBe('invalid');
      }),
    );
  });

  it('a manifest signed with another key does not verify, naming both key ids; unsigned is unsigned', () => {
    const forged = JSON.parse(JSON.stringify(signManifest({ job: 'db-dump' }, OTHER))) as unknown;
    const c = checkSignature(forged, KEY);
    expect(c.state).toBe('invalid');
    expect(c.state === 'invalid' && c.reason).toContain(OTHER.keyId);
    expect(c.state === 'invalid' && c.reason).toContain(KEY.keyId);
    expect(checkSignature({ job: 'db-dump' }, KEY)).toEqual({ state: 'unsigned' });
    // a forger who copies the right key id still cannot produce the value
    const copied = {
      ...(forged as object),
      signature: { ...(forged as { signature: object }).signature, keyId: KEY.keyId },
    };
    expect(checkSignature(copied, KEY).state).toBe('invalid');
  });
});

describe('the key', () => {
  it('is read from the environment or a file, never printed; a bad key is a named usage error', () => {
    const k = loadManifestKey(undefined, { BACKUP_MANIFEST_KEY: Buffer.alloc(32, 3).toString('base64') });
    expect(k?.keyId).toBe(KEY.keyId);
    expect(k?.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(String(k?.key)).not.toContain(Buffer.alloc(32, 3).toString('base64'));
    expect(JSON.stringify(k)).not.toContain(Buffer.alloc(32, 3).toString('base64'));
    expect(loadManifestKey(undefined, {})).toBeUndefined();
    expect(() => loadManifestKey(undefined, { BACKUP_MANIFEST_KEY: 'short' })).toThrow(UsageError);
    expect(() => loadManifestKey(undefined, { BACKUP_MANIFEST_KEY: 'short' })).toThrow(/BACKUP_MANIFEST_KEY/);
    expect(() => loadManifestKey('/nonexistent/key', {})).toThrow(/--manifest-key-file/);
  });
});
