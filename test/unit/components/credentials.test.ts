/**
 * Provider credentials: resolved at run time from Configure (stack config) or the environment,
 * config first; a clear error names both ways when missing. No network: building a client does
 * not authorize.
 */
import { clientFor, configureFromStack, resetClients } from '../../../infra/providers/credentials';

const bag = (m: Record<string, string>) => ({ get: (k: string) => m[k] });

beforeEach(() => {
  resetClients();
  configureFromStack(bag({}));
});

test('environment: primary from B2_*, replica from B2_REPLICA_* (never the primary realm)', () => {
  const env = {
    B2_APPLICATION_KEY_ID: 'primary-id',
    B2_APPLICATION_KEY: 'primary-secret',
    B2_REALM_URL: 'http://127.0.0.1:1',
    B2_REPLICA_APPLICATION_KEY_ID: 'replica-id',
    B2_REPLICA_APPLICATION_KEY: 'replica-secret',
  };
  expect(clientFor('primary', env)).toMatchObject({
    applicationKeyId: 'primary-id',
    realmUrl: 'http://127.0.0.1:1',
  });
  expect(clientFor('replica', env)).toMatchObject({
    applicationKeyId: 'replica-id',
    realmUrl: 'https://api.backblazeb2.com',
  });
});

test('stack config (Configure) wins over the environment; clients are cached per account and key', () => {
  configureFromStack(
    bag({
      'infrafabric-backup:replicaApplicationKeyId': 'cfg-id',
      'infrafabric-backup:replicaApplicationKey': 'cfg-secret',
      'infrafabric-backup:replicaRealmUrl': 'http://127.0.0.1:2',
    }),
  );
  const env = { B2_REPLICA_APPLICATION_KEY_ID: 'env-id', B2_REPLICA_APPLICATION_KEY: 'env-secret' };
  const c = clientFor('replica', env);
  expect(c).toMatchObject({ applicationKeyId: 'cfg-id', realmUrl: 'http://127.0.0.1:2' });
  expect(clientFor('replica', env)).toBe(c);
});

test('missing credentials: the error names the env variables and the config keys, and holds no secret', () => {
  expect(() => clientFor('replica', { B2_REPLICA_APPLICATION_KEY_ID: 'only-id' })).toThrow(
    'B2 credentials for the replica account are missing: set the environment variables B2_REPLICA_APPLICATION_KEY_ID and ' +
      'B2_REPLICA_APPLICATION_KEY, or the stack config infrafabric-backup:replicaApplicationKeyId and (as a secret) ' +
      'infrafabric-backup:replicaApplicationKey',
  );
});

test('a broken config bag counts as no config', () => {
  configureFromStack({
    get: () => {
      throw new Error('no config');
    },
  });
  expect(clientFor('primary', { B2_APPLICATION_KEY_ID: 'x', B2_APPLICATION_KEY: 'y' }).applicationKeyId).toBe(
    'x',
  );
});
