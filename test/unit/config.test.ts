/** infra/config.ts: the one validated stack schema, against the real stack files and bad input. */
import fc from 'fast-check';
import { parseStackConfig } from '../../infra/config';
import { ValidationError } from '../../infra/providers/validation/problem';
import { stackConfigFromFile } from './components/mocks';

const ns = (o: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(o).map(([k, v]) => [
      `infrafabric-backup:${k}`,
      typeof v === 'string' ? v : JSON.stringify(v),
    ]),
  );

function problemsOf(raw: Record<string, string>, stack = 'dev'): string[] {
  try {
    parseStackConfig(raw, stack);
  } catch (e) {
    expect(e).toBeInstanceOf(ValidationError);
    return (e as ValidationError).problems.map((p) => `${p.property}: ${p.reason}`);
  }
  throw new Error('expected a ValidationError');
}

describe('stack files', () => {
  test('dev: aws only, short retention, no replication, forceDestroy', () => {
    const c = parseStackConfig(stackConfigFromFile('dev'), 'dev');
    expect(c).toMatchObject({
      env: 'dev',
      providers: ['aws'],
      retention: 'short',
      forceDestroy: true,
      replication: { enabled: false },
    });
  });
  test("staging: prod's shape (three providers, replication), short retention", () => {
    expect(parseStackConfig(stackConfigFromFile('staging'), 'staging')).toMatchObject({
      env: 'staging',
      providers: ['aws', 'azure', 'gcp'],
      retention: 'short',
      replication: { enabled: true, replicaSuffix: '-replica' },
      forceDestroy: false,
    });
  });
  test('prod: three providers, replication, lock available but off, SSE-B2', () => {
    const c = parseStackConfig(stackConfigFromFile('prod'), 'prod');
    expect(c).toMatchObject({
      env: 'prod',
      providers: ['aws', 'azure', 'gcp'],
      replication: { enabled: true, replicaSuffix: '-replica' },
      objectLock: { enabled: false, mode: 'governance', days: 30 },
      uploadEncryption: 'SSE-B2',
      forceDestroy: false,
      keyRotation: 'initial',
      keyNamePrefix: null,
    });
  });
  test("local: prod's topology with a name prefix", () => {
    const c = parseStackConfig(stackConfigFromFile('local'), 'local');
    expect(c).toMatchObject({
      env: 'prod',
      namePrefix: 'local-',
      providers: ['aws', 'azure', 'gcp'],
      replication: { enabled: true },
    });
  });
});

describe('defaults and derivation', () => {
  test('env defaults to the stack name for dev/staging/prod; retention follows env', () => {
    expect(parseStackConfig({}, 'prod')).toMatchObject({
      env: 'prod',
      providers: ['aws'],
      retention: 'standard',
      replication: { enabled: false },
    });
    expect(parseStackConfig({}, 'dev').retention).toBe('short');
  });
  test('any other stack must say its env', () => {
    expect(problemsOf({}, 'sandbox')).toEqual([
      expect.stringMatching(
        /^infrafabric-backup:env: required for stack "sandbox": set it with `pulumi config set env/,
      ),
    ]);
  });
  test('provider credential keys are known keys (the master key as a secret)', () => {
    expect(() =>
      parseStackConfig(
        ns({ b2ApplicationKeyId: 'k', b2ApplicationKey: 's', replicaRealmUrl: 'http://x' }),
        'dev',
        (k) => k === 'infrafabric-backup:b2ApplicationKey',
      ),
    ).not.toThrow();
  });
});

describe('errors name the key and say what to do', () => {
  test('unknown key (typo)', () => {
    expect(problemsOf(ns({ namePrefx: 'a-' }))).toEqual([
      expect.stringMatching(
        /^infrafabric-backup:namePrefx: unknown config key; known keys: env, providers, namePrefix/,
      ),
    ]);
  });
  test('other namespaces are ignored', () => {
    expect(() => parseStackConfig({ 'aws:region': 'us-west-2' }, 'dev')).not.toThrow();
  });
  test('unknown provider name', () => {
    expect(problemsOf(ns({ providers: ['aws', 'oracle'] }))).toEqual([
      'infrafabric-backup:providers[1]: unknown provider "oracle"; expected one of aws, azure, gcp, multi',
    ]);
  });
  test('SSE-C with replication is refused', () => {
    expect(problemsOf(ns({ replication: { enabled: true }, uploadEncryption: 'SSE-C' }), 'prod')).toEqual([
      expect.stringMatching(/^infrafabric-backup:uploadEncryption: SSE-C cannot be used with replication/),
    ]);
    expect(parseStackConfig(ns({ uploadEncryption: 'SSE-C' }), 'dev').uploadEncryption).toBe('SSE-C');
  });
  test('bucket names after prefix/suffix are checked (length, charset, b2-)', () => {
    const long = problemsOf(ns({ namePrefix: 'a'.repeat(40) + '-' }));
    expect(long.join('\n')).toMatch(/is 67 characters; B2 needs 6-63/);
    const b2 = problemsOf(ns({ namePrefix: 'B2-' })).join('\n');
    expect(b2).toMatch(/must not start with "b2-"/);
    expect(b2).toMatch(/may only contain lower-case/);
    expect(problemsOf(ns({ nameSuffix: '_x' })).join('\n')).toMatch(
      /may only contain lower-case letters, digits and "-"/,
    );
  });
  test('replica names are checked too', () => {
    expect(
      problemsOf(ns({ replication: { enabled: true, replicaSuffix: '-' + 'r'.repeat(40) } }), 'prod').join(
        '\n',
      ),
    ).toMatch(/replication\.replicaSuffix.*characters; B2 needs 6-63/);
  });
  test('object lock: prod only, days bounded, unknown fields refused', () => {
    expect(problemsOf(ns({ objectLock: { enabled: true } }), 'dev')).toEqual([
      expect.stringMatching(/objectLock.enabled: Object Lock is for prod only/),
    ]);
    expect(problemsOf(ns({ objectLock: { enabled: true, days: 0 } }), 'prod')).toEqual([
      expect.stringMatching(/objectLock.days: must be a whole number of days from 1 to 3000/),
    ]);
    expect(problemsOf(ns({ objectLock: { enabled: true, mode: 'compliance' } }), 'prod')).toEqual([
      expect.stringMatching(/objectLock.mode: must be one of governance/),
    ]);
    expect(problemsOf(ns({ replication: { enable: true } }), 'prod')).toEqual([
      expect.stringMatching(/replication.enable: unknown field; known fields: enabled, replicaSuffix/),
    ]);
  });
  test('keyRotation must fit in key names', () => {
    expect(problemsOf(ns({ keyRotation: '2026.12' }))).toEqual([
      expect.stringMatching(/keyRotation: "2026.12" must be 1-24 letters, digits or "-"/),
    ]);
    expect(parseStackConfig(ns({ keyRotation: '2026-12' }), 'dev').keyRotation).toBe('2026-12');
  });
  test('string fields keep number-like (and boolean-like) text as the string it is', () => {
    // The engine passes every scalar as its text: `keyRotation: 2026` and `keyRotation: "2026"`
    // both arrive as "2026".
    const c = parseStackConfig(
      ns({
        keyRotation: '2026',
        costCenter: '4711',
        namePrefix: '007',
        nameSuffix: '-1',
        keyNamePrefix: '42',
      }),
      'dev',
    );
    expect(c).toMatchObject({
      keyRotation: '2026',
      costCenter: '4711',
      namePrefix: '007',
      nameSuffix: '-1',
      keyNamePrefix: '42',
    });
    expect(parseStackConfig(ns({ costCenter: 'true' }), 'dev').costCenter).toBe('true');
    // Inside a mapping an unquoted YAML number is a JSON number; a string field takes its text.
    expect(
      parseStackConfig(ns({ smokeTest: { enabled: true, trigger: 2026 } }), 'dev').smokeTest.trigger,
    ).toBe('2026');
  });
  test('objectLock.acknowledgeIrreversible: boolean, default false', () => {
    expect(parseStackConfig(ns({}), 'prod').objectLock.acknowledgeIrreversible).toBe(false);
    expect(
      parseStackConfig(ns({ objectLock: { enabled: true, acknowledgeIrreversible: true } }), 'prod')
        .objectLock,
    ).toMatchObject({ enabled: true, acknowledgeIrreversible: true });
    expect(problemsOf(ns({ objectLock: { acknowledgeIrreversible: 'yes' } }), 'prod')).toEqual([
      expect.stringMatching(/objectLock.acknowledgeIrreversible: must be true or false/),
    ]);
  });
  test("adoptBucketIds: provider → bucket id, only for this stack's providers", () => {
    expect(parseStackConfig(ns({}), 'dev').adoptBucketIds).toEqual({});
    expect(parseStackConfig(ns({ adoptBucketIds: { aws: 'abc123' } }), 'dev').adoptBucketIds).toEqual({
      aws: 'abc123',
    });
    expect(problemsOf(ns({ adoptBucketIds: { gcp: 'abc', aws: 'a b' } }))).toEqual([
      expect.stringMatching(/adoptBucketIds.gcp: not one of this stack's providers \(aws\)/),
      expect.stringMatching(/adoptBucketIds.aws: must be a B2 bucket id/),
    ]);
  });
  test('wrong types', () => {
    const p = problemsOf(ns({ forceDestroy: 'yes', retention: 'forever', env: 'qa' }));
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/forceDestroy: must be true or false/),
        expect.stringMatching(/retention: must be one of standard, short/),
        expect.stringMatching(/env: must be one of dev, staging, prod/),
      ]),
    );
  });
  test('the message lists every problem at once', () => {
    try {
      parseStackConfig(ns({ providers: ['x'], forceDestroy: 1 }), 'dev');
      throw new Error('no error');
    } catch (e) {
      expect((e as Error).message).toMatch(
        /invalid stack configuration for stack "dev":\n {2}- \[infrafabric-backup:providers\[0\]\][\s\S]*\n {2}- \[infrafabric-backup:forceDestroy\]/,
      );
    }
  });
});

describe('smokeTest', () => {
  test('off by default, on in every stack file; trigger defaults to initial', () => {
    expect(parseStackConfig({}, 'dev').smokeTest).toEqual({ enabled: false, trigger: 'initial' });
    for (const s of ['dev', 'staging', 'prod', 'local'])
      expect(parseStackConfig(stackConfigFromFile(s), s).smokeTest.enabled).toBe(true);
    expect(parseStackConfig(ns({ smokeTest: { enabled: true, trigger: 'again' } }), 'dev').smokeTest).toEqual(
      { enabled: true, trigger: 'again' },
    );
  });
  test('unknown fields are refused', () => {
    expect(problemsOf(ns({ smokeTest: { enable: true } }))).toEqual([
      expect.stringMatching(/smokeTest.enable: unknown field; known fields: enabled, trigger/),
    ]);
  });
});

describe('keyDelivery', () => {
  test('none by default; the mode alone or an object', () => {
    expect(parseStackConfig({}, 'dev').keyDelivery.mode).toBe('none');
    expect(problemsOf(ns({ keyDelivery: 'aws-secrets-manager' }))).toEqual([
      expect.stringMatching(/keyDelivery.awsRegion: required for aws-secrets-manager/),
    ]);
    expect(
      parseStackConfig(
        ns({ keyDelivery: { mode: 'aws-secrets-manager', awsRegion: 'eu-central-1' } }),
        'prod',
      ).keyDelivery,
    ).toEqual({
      mode: 'aws-secrets-manager',
      awsRegion: 'eu-central-1',
      prefix: null,
      kmsKeyId: null,
      recoveryWindowInDays: null,
    });
  });
  test('bad values name the field', () => {
    const p = problemsOf(
      ns({
        keyDelivery: { mode: 'aws-secrets-manager', awsRegion: 'europe', recoveryWindowInDays: 3, colour: 1 },
      }),
    );
    expect(p).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/keyDelivery.colour: unknown field/),
        expect.stringMatching(/keyDelivery.awsRegion: "europe" is not an AWS region/),
        expect.stringMatching(/keyDelivery.recoveryWindowInDays: must be 0 or 7/),
      ]),
    );
    expect(problemsOf(ns({ keyDelivery: 'vault' }))).toEqual([
      expect.stringMatching(/keyDelivery.mode: must be one of none, aws-secrets-manager/),
    ]);
  });
});

describe('estate safety (issue 10: prod protection, secret-only credentials, rotation)', () => {
  const parseWith = (o: Record<string, unknown>, stack = 'x', secret: string[] = []) =>
    parseStackConfig(ns(o), stack, (k) => secret.includes(k));
  function problemsWith(o: Record<string, unknown>, stack = 'x', secret: string[] = []): string[] {
    try {
      parseWith(o, stack, secret);
    } catch (e) {
      expect(e).toBeInstanceOf(ValidationError);
      return (e as ValidationError).problems.map((p) => `${p.property}: ${p.reason}`);
    }
    throw new Error('expected a ValidationError');
  }

  test('"prod" is env: prod whatever the stack name: forceDestroy refused with a named error', () => {
    for (const stack of ['prod', 'production', 'eu-live', 'dev']) {
      const p = problemsWith({ env: 'prod', forceDestroy: true }, stack);
      expect(p).toEqual([
        expect.stringMatching(
          /^infrafabric-backup:forceDestroy: refused for env prod \(ProdForceDestroyRefused\)/,
        ),
      ]);
      expect(p[0]).toContain('infrafabric-backup:disposable: true');
    }
    // a stack named prod whose env is dev is not prod
    expect(parseWith({ env: 'dev', forceDestroy: true }, 'prod').protectBuckets).toBe(false);
  });

  test('prod buckets are protected; disposable alone lifts protection and allows forceDestroy', () => {
    expect(parseWith({ env: 'prod' })).toMatchObject({ protectBuckets: true, disposable: false });
    expect(parseWith({ env: 'prod', disposable: true, forceDestroy: true })).toMatchObject({
      protectBuckets: false,
      disposable: true,
      forceDestroy: true,
    });
    for (const env of ['dev', 'staging']) expect(parseWith({ env }).protectBuckets).toBe(false);
    expect(problemsWith({ env: 'prod', disposable: 'yes' })).toEqual([
      expect.stringMatching(/^infrafabric-backup:disposable: must be true or false/),
    ]);
  });

  test('the local stack file: env prod, disposable, every other prod rule as in prod', () => {
    const local = parseStackConfig(stackConfigFromFile('local'), 'local');
    const prod = parseStackConfig(stackConfigFromFile('prod'), 'prod');
    expect(local).toMatchObject({ env: 'prod', disposable: true, protectBuckets: false, forceDestroy: true });
    expect(prod).toMatchObject({ env: 'prod', disposable: false, protectBuckets: true, forceDestroy: false });
    expect(local.replication.enabled).toBe(prod.replication.enabled);
    expect(local.providers).toEqual(prod.providers);
    // Only the disposable flag distinguishes them: without it the local file is refused.
    const raw = stackConfigFromFile('local');
    delete raw['infrafabric-backup:disposable'];
    expect(() => parseStackConfig(raw, 'local')).toThrow(/ProdForceDestroyRefused/);
  });

  test.each(['b2ApplicationKey', 'replicaApplicationKey'])(
    'a plaintext %s is refused, naming the key and the --secret fix; as a secret it is accepted',
    (k) => {
      const full = `infrafabric-backup:${k}`;
      expect(problemsWith({ env: 'dev', [k]: 'K005secretvalue' })).toEqual([
        expect.stringMatching(
          new RegExp(`^${full}: is stored in plaintext \\(PlaintextCredentialRefused\\)`),
        ),
      ]);
      const msg = problemsWith({ env: 'dev', [k]: 'K005secretvalue' })[0];
      expect(msg).toContain(`pulumi config set --secret ${full}`);
      expect(msg).not.toContain('K005secretvalue');
      expect(() => parseWith({ env: 'dev', [k]: 'K005secretvalue' }, 'x', [full])).not.toThrow();
    },
  );

  test('key ids and realm URLs may be plaintext; only the engine-marked secret keys count', () => {
    expect(() =>
      parseWith({
        env: 'dev',
        b2ApplicationKeyId: '005abc',
        replicaApplicationKeyId: '005def',
        b2RealmUrl: 'http://x',
      }),
    ).not.toThrow();
    // a secret flag on another key does not cover the master key
    expect(() =>
      parseWith({ env: 'dev', b2ApplicationKey: 'x' }, 'x', ['infrafabric-backup:b2ApplicationKeyId']),
    ).toThrow(/PlaintextCredentialRefused/);
  });

  test('rotation: previousKeyRotation must be a valid rotation different from keyRotation', () => {
    expect(parseWith({ env: 'dev' })).toMatchObject({ keyRotation: 'initial', previousKeyRotation: null });
    expect(parseWith({ env: 'dev', keyRotation: '2026-12', previousKeyRotation: 'initial' })).toMatchObject({
      keyRotation: '2026-12',
      previousKeyRotation: 'initial',
    });
    expect(problemsWith({ env: 'dev', keyRotation: 'a', previousKeyRotation: 'a' })).toEqual([
      expect.stringMatching(/^infrafabric-backup:previousKeyRotation: equals keyRotation/),
    ]);
    expect(problemsWith({ env: 'dev', previousKeyRotation: 'no spaces' })).toEqual([
      expect.stringMatching(/^infrafabric-backup:previousKeyRotation: "no spaces" must be 1-24/),
    ]);
    // YAML `keyRotation: 2026` arrives as "2026": a generation name, kept a string
    expect(
      parseStackConfig(
        {
          'infrafabric-backup:env': 'dev',
          'infrafabric-backup:keyRotation': '2026',
          'infrafabric-backup:previousKeyRotation': '2025',
        },
        'x',
      ),
    ).toMatchObject({
      keyRotation: '2026',
      previousKeyRotation: '2025',
    });
    expect(parseWith({ env: 'dev', keyValidDurationInSeconds: 86400 }).keyValidDurationInSeconds).toBe(86400);
    expect(problemsWith({ env: 'dev', keyValidDurationInSeconds: 0 })).toEqual([
      expect.stringMatching(/^infrafabric-backup:keyValidDurationInSeconds: must be a whole number/),
    ]);
  });
});

describe('properties (fast-check)', () => {
  const gen = fc.stringMatching(/^[A-Za-z0-9-]{1,24}$/);
  test('any two different valid generations are accepted as current and previous', () => {
    fc.assert(
      fc.property(gen, gen, (a, b) => {
        fc.pre(a !== b);
        const c = parseStackConfig(ns({ env: 'dev', keyRotation: a, previousKeyRotation: b }), 'x');
        return c.keyRotation === a && c.previousKeyRotation === b;
      }),
      { seed: 10, numRuns: 200 },
    );
  });
  test('a plaintext master key is refused whatever its value, and the value is never echoed', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 8, maxLength: 60 }).filter((v) => v.trim().length >= 8),
        (v) => {
          fc.pre(!/^\s*[[{]|^(true|false)$|^-?\d+$/.test(v.trim()));
          try {
            parseStackConfig(ns({ env: 'dev', b2ApplicationKey: v }), 'x');
            return false;
          } catch (e) {
            const msg = (e as Error).message;
            return msg.includes('PlaintextCredentialRefused') && !msg.includes(v);
          }
        },
      ),
      { seed: 11, numRuns: 200 },
    );
  });
  test('env prod with forceDestroy is refused unless disposable, for any stack name', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z][a-z0-9-]{0,20}$/), fc.boolean(), (stack, disposable) => {
        const raw = ns({ env: 'prod', forceDestroy: true, disposable });
        try {
          const c = parseStackConfig(raw, stack);
          return disposable && !c.protectBuckets;
        } catch (e) {
          return !disposable && (e as Error).message.includes('ProdForceDestroyRefused');
        }
      }),
      { seed: 12, numRuns: 100 },
    );
  });
});
