/**
 * Credentials and endpoints for the dynamic providers, resolved at run time inside the provider
 * host — never captured in the serialised provider (docs/architecture.md §3).
 *
 * Two B2 accounts: `primary` (US-West; every bucket and key unless stated) and `replica` (EU; the
 * twin buckets and destination keys of replication). For each, stack config wins over the
 * environment:
 *
 * | account | stack config (`infrafabric-backup:`…) | environment |
 * |---|---|---|
 * | primary | `b2ApplicationKeyId`, `b2ApplicationKey` (secret), `b2RealmUrl` | `B2_APPLICATION_KEY_ID`, `B2_APPLICATION_KEY`, `B2_REALM_URL` |
 * | replica | `replicaApplicationKeyId`, `replicaApplicationKey` (secret), `replicaRealmUrl` | `B2_REPLICA_APPLICATION_KEY_ID`, `B2_REPLICA_APPLICATION_KEY`, `B2_REPLICA_REALM_URL` |
 *
 * The realm URL defaults to Backblaze's (`https://api.backblazeb2.com`); point it at the emulator
 * for local runs. One client per account is cached for the life of the provider process, so an
 * unchanged preview authorizes once per account.
 */
import type { B2Client } from '../b2';
import { AccountRole } from './types';

export const CONFIG_NAMESPACE = 'infrafabric-backup';

interface AccountSettings {
  configKeys: { keyId: string; key: string; realm: string };
  envKeys: { keyId: string; key: string; realm: string };
}

export const ACCOUNT_SETTINGS: Record<AccountRole, AccountSettings> = {
  primary: {
    configKeys: { keyId: 'b2ApplicationKeyId', key: 'b2ApplicationKey', realm: 'b2RealmUrl' },
    envKeys: { keyId: 'B2_APPLICATION_KEY_ID', key: 'B2_APPLICATION_KEY', realm: 'B2_REALM_URL' },
  },
  replica: {
    configKeys: { keyId: 'replicaApplicationKeyId', key: 'replicaApplicationKey', realm: 'replicaRealmUrl' },
    envKeys: {
      keyId: 'B2_REPLICA_APPLICATION_KEY_ID',
      key: 'B2_REPLICA_APPLICATION_KEY',
      realm: 'B2_REPLICA_REALM_URL',
    },
  },
};

/** What `configure` received: the stack's config (`project:key` → value). */
let stackConfig: Record<string, string | undefined> = {};

/** Minimal view of the engine's config bag (pulumi.dynamic.Config). */
export interface ConfigBag {
  get(key: string): string | undefined;
}

/** A missing or malformed config bag counts as "no config": the environment still applies. */
function safeGet(config: ConfigBag, key: string): string | undefined {
  try {
    return config?.get(key);
  } catch {
    return undefined;
  }
}

/** Called from each provider's `configure`: remembers the provider-related config keys. */
export function configureFromStack(config: ConfigBag): void {
  const next: Record<string, string | undefined> = {};
  for (const s of Object.values(ACCOUNT_SETTINGS)) {
    for (const k of Object.values(s.configKeys)) {
      const full = `${CONFIG_NAMESPACE}:${k}`;
      next[full] = safeGet(config, full);
    }
  }
  stackConfig = next;
}

interface ResolvedAccount {
  applicationKeyId: string;
  applicationKey: string;
  realmUrl?: string;
}

function resolve(role: AccountRole, env: NodeJS.ProcessEnv): ResolvedAccount {
  const s = ACCOUNT_SETTINGS[role];
  const pick = (configKey: string, envKey: string) =>
    stackConfig[`${CONFIG_NAMESPACE}:${configKey}`] || env[envKey] || undefined;
  const applicationKeyId = pick(s.configKeys.keyId, s.envKeys.keyId);
  const applicationKey = pick(s.configKeys.key, s.envKeys.key);
  const realmUrl = pick(s.configKeys.realm, s.envKeys.realm);
  if (!applicationKeyId || !applicationKey) {
    throw new Error(
      `B2 credentials for the ${role} account are missing: set the environment variables ` +
        `${s.envKeys.keyId} and ${s.envKeys.key}, or the stack config ` +
        `${CONFIG_NAMESPACE}:${s.configKeys.keyId} and (as a secret) ${CONFIG_NAMESPACE}:${s.configKeys.key}`,
    );
  }
  return { applicationKeyId, applicationKey, realmUrl };
}

const clients = new Map<string, B2Client>();

/** The cached client for an account (built on first use, inside the provider host). */
export function clientFor(role: AccountRole = 'primary', env: NodeJS.ProcessEnv = process.env): B2Client {
  const a = resolve(role, env);
  // The cache key holds the key id and realm only; the secret stays inside the client.
  const cacheKey = `${role}\u0000${a.applicationKeyId}\u0000${a.realmUrl ?? ''}`;
  let client = clients.get(cacheKey);
  if (!client) {
    // Loaded here, inside the provider host, not at module load: the Pulumi program imports the
    // resource classes from the provider files and must not compile or load the B2 client.
    const { B2Client: Client, DEFAULT_REALM_URL } = require('../b2') as typeof import('../b2');
    // The realm is always explicit: the client would otherwise fall back to B2_REALM_URL, which
    // belongs to the primary account.
    client = new Client({
      applicationKeyId: a.applicationKeyId,
      applicationKey: a.applicationKey,
      realmUrl: a.realmUrl ?? DEFAULT_REALM_URL,
    });
    clients.set(cacheKey, client);
  }
  return client;
}

/** Forgets cached clients (tests; also after `configure` changes credentials). */
export function resetClients(): void {
  clients.clear();
}
