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
  loadPreviousManifestKeys,
  parseManifestKey,
  selectKey,
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
        expect(checkSignature(stored(m), KEY)).toEqual({ state: 'valid', keyId: KEY.keyId, previous: false });
      }),
    );
  });

  it('unicode keys and values (astral, combining, RTL) sign and verify', () => {
    const m = { job: 'db-dump', details: { 'ключ ✓ 𝄞': 'e\u0301 שלום 🙂', '': [1, { ü: null }] } };
    expect(checkSignature(stored(m), KEY)).toEqual({ state: 'valid', keyId: KEY.keyId, previous: false });
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

describe('rotation: previous keys', () => {
  const P1 = parseManifestKey(Buffer.alloc(32, 5).toString('base64'), 'test');
  const P2 = parseManifestKey('cd'.repeat(32), 'test');

  it('selectKey picks the key the signature names: current, else the previous key with that id, else none', () => {
    expect(selectKey(KEY.keyId, KEY, [P1, P2])).toBe(KEY);
    expect(selectKey(P2.keyId, KEY, [P1, P2])).toBe(P2);
    expect(selectKey(P1.keyId, KEY, [P1, P2])).toBe(P1);
    expect(selectKey(OTHER.keyId, KEY, [P1, P2])).toBeUndefined();
    expect(selectKey(P1.keyId, KEY)).toBeUndefined();
    expect(selectKey(undefined, KEY, [P1])).toBeUndefined();
  });

  it('a manifest signed with a previous key verifies only with its own key, naming it; edits still break it', () => {
    fc.assert(
      fc.property(manifest, fc.integer({ min: 0, max: 1 }), (m, i) => {
        const k = [P1, P2][i];
        const stored = JSON.parse(JSON.stringify(signManifest(m, k), null, 2)) as Record<string, unknown>;
        expect(checkSignature(stored, KEY, [P1, P2])).toEqual({
          state: 'valid',
          keyId: k.keyId,
          previous: true,
        });
        expect(checkSignature(stored, KEY).state).toBe('invalid');
        const edited = { ...stored, job: `${String(stored.job)}x` };
        const c = checkSignature(edited, KEY, [P1, P2]);
        expect(c.state).toBe('invalid');
        expect(c.state === 'invalid' && c.reason).toContain(`does not verify with key id ${k.keyId}`);
      }),
      { numRuns: 50 },
    );
    const current = JSON.parse(JSON.stringify(signManifest({ job: 'a' }, KEY))) as unknown;
    expect(checkSignature(current, KEY, [P1])).toEqual({ state: 'valid', keyId: KEY.keyId, previous: false });
    // a previous key's id on a value made with another key does not verify
    const forged = JSON.parse(JSON.stringify(signManifest({ job: 'a' }, OTHER))) as { signature: object };
    const relabeled = { ...forged, signature: { ...forged.signature, keyId: P1.keyId } };
    expect(checkSignature(relabeled, KEY, [P1]).state).toBe('invalid');
    const other = checkSignature(forged, KEY, [P1, P2]);
    expect(other.state === 'invalid' && other.reason).toBe(
      `signed with key id ${OTHER.keyId}, not the configured key id ${KEY.keyId} nor a previous key id (${P1.keyId}, ${P2.keyId})`,
    );
  });

  it('previous keys are read from the comma-separated environment variable, deduplicated; a bad item is a named usage error', () => {
    const b64 = Buffer.alloc(32, 5).toString('base64');
    const keys = loadPreviousManifestKeys(undefined, {
      BACKUP_MANIFEST_PREVIOUS_KEYS: ` ${b64} ,${'cd'.repeat(32)},${b64},`,
    });
    expect(keys.map((k) => k.keyId)).toEqual([P1.keyId, P2.keyId]);
    expect(JSON.stringify(keys)).not.toContain(b64);
    expect(loadPreviousManifestKeys(undefined, {})).toEqual([]);
    const bad = () => loadPreviousManifestKeys(undefined, { BACKUP_MANIFEST_PREVIOUS_KEYS: `${b64},short` });
    expect(bad).toThrow(UsageError);
    expect(bad).toThrow(/BACKUP_MANIFEST_PREVIOUS_KEYS \(item 2, comma-separated\).*64 hex digits or base64/);
    expect(() => loadPreviousManifestKeys(['/nonexistent/key'], {})).toThrow(/--manifest-previous-key-file/);
  });
});
