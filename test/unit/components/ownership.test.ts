/**
 * Ownership rules (infra/providers/ownership.ts) and number-like config strings, as properties over
 * open-ended inputs (fast-check): a key name carries exactly its own stack's discriminator, a
 * discriminator-only rename is never a replacement and any other rename is, the marker round-trips
 * through bucketInfo and a half marker is no marker, and string settings keep their text.
 */
import fc from 'fast-check';
import { parseStackConfig } from '../../../infra/config';
import { changedKeyFields, normalizeKeyInputs } from '../../../infra/providers/applicationKey';
import {
  OWNER_RESOURCE_KEY,
  OWNER_STACK_KEY,
  carriesDiscriminator,
  ownerInfo,
  ownerOf,
  ownerProblem,
  stackDiscriminator,
  withDiscriminator,
} from '../../../infra/providers/ownership';

const segment = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,30}$/);
const stackId = fc.tuple(segment, segment).map(([p, s]) => `${p}/${s}`);
const keyBase = fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,60}$/);

test("a name made for a stack carries that stack's discriminator and no other stack's", () => {
  fc.assert(
    fc.property(keyBase, stackId, stackId, (base, a, b) => {
      const name = withDiscriminator(base, a);
      expect(carriesDiscriminator(name, a)).toBe(true);
      expect(/^s[0-9a-f]{6}$/.test(stackDiscriminator(a))).toBe(true);
      if (stackDiscriminator(a) !== stackDiscriminator(b)) expect(carriesDiscriminator(name, b)).toBe(false);
    }),
    { numRuns: 500 },
  );
});

test("upgrade rename: adding this stack's discriminator is no change; any other new name replaces", () => {
  fc.assert(
    fc.property(keyBase, keyBase, stackId, stackId, (oldName, other, stack, otherStack) => {
      const olds = normalizeKeyInputs({ keyName: oldName, capabilities: ['readFiles'], bucketIds: ['b'] });
      const news = (keyName: string, ownerStack = stack) =>
        normalizeKeyInputs({ ...olds, keyName, ownerStack });
      expect(changedKeyFields(olds, news(withDiscriminator(oldName, stack)))).toEqual([]);
      if (stackDiscriminator(otherStack) !== stackDiscriminator(stack))
        expect(changedKeyFields(olds, news(withDiscriminator(oldName, otherStack)))).toEqual(['keyName']);
      if (other !== oldName)
        expect(changedKeyFields(olds, news(withDiscriminator(other, stack)))).toEqual(['keyName']);
      // Without an ownerStack there is no exemption at all.
      expect(
        changedKeyFields(olds, normalizeKeyInputs({ ...olds, keyName: withDiscriminator(oldName, stack) })),
      ).toEqual(['keyName']);
    }),
    { numRuns: 300 },
  );
});

test('the bucketInfo marker round-trips; a half marker or none is no owner', () => {
  const info = fc.dictionary(fc.stringMatching(/^[a-z][a-z-]{0,12}$/), fc.string({ maxLength: 20 }), {
    maxKeys: 6,
  });
  fc.assert(
    fc.property(info, stackId, segment, (extra, stack, resource) => {
      const owner = { stack, resource };
      expect(ownerOf({ ...extra, ...ownerInfo(owner) })).toEqual(owner);
      expect(ownerProblem(owner)).toBeNull();
      const { [OWNER_STACK_KEY]: _s, [OWNER_RESOURCE_KEY]: _r, ...plain } = extra;
      expect(ownerOf(plain)).toBeNull();
      expect(ownerOf({ ...plain, [OWNER_STACK_KEY]: stack })).toBeNull();
      expect(ownerOf({ ...plain, [OWNER_RESOURCE_KEY]: resource })).toBeNull();
    }),
    { numRuns: 300 },
  );
});

test('string settings keep their text, number-like or not', () => {
  const text = fc.stringMatching(/^[A-Za-z0-9 ._-]{1,20}$/);
  const rotation = fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/);
  fc.assert(
    fc.property(text, rotation, fc.integer({ min: 0, max: 1e9 }), (costCenter, keyRotation, n) => {
      const ns = (o: Record<string, string>) =>
        Object.fromEntries(Object.entries(o).map(([k, v]) => [`infrafabric-backup:${k}`, v]));
      const c = parseStackConfig(ns({ costCenter, keyRotation }), 'dev');
      expect(c.costCenter).toBe(costCenter);
      expect(c.keyRotation).toBe(keyRotation);
      const numeric = parseStackConfig(ns({ costCenter: String(n), keyRotation: String(n) }), 'dev');
      expect(numeric.costCenter).toBe(String(n));
      expect(numeric.keyRotation).toBe(String(n));
    }),
    { numRuns: 300 },
  );
});
