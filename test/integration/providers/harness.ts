/**
 * Shared set-up for the provider lifecycle tests: an emulator with two regions (two accounts:
 * `primary` = first region, `replica` = second), a dynamic-provider host configured the way a stack
 * would configure it (primary credentials through Configure, replica through the environment), the
 * serialised thin loaders, and a direct B2 client per account to observe and to change things
 * out of band.
 */
import { B2Client } from '../../../infra/b2';
import { thinLoader, ProviderModule } from '../../../infra/providers/loader';
import { RunningEmulator, startEmulator } from '../../helpers/emulator';
import { ProviderHost, serializeProvider, startProviderHost, urnOf } from '../../helpers/dynamicProviderHost';

export const TYPES = {
  bucket: 'pulumi-nodejs:dynamic/b2:Bucket',
  applicationKey: 'pulumi-nodejs:dynamic/b2:ApplicationKey',
  replication: 'pulumi-nodejs:dynamic/b2:Replication',
} as const;

const EXPORTS: Record<ProviderModule, string> = {
  bucket: 'bucketProvider',
  applicationKey: 'applicationKeyProvider',
  replication: 'replicationProvider',
};

export interface Harness {
  emu: RunningEmulator;
  host: ProviderHost;
  /** Serialised `__provider` text per module. */
  providers: Record<ProviderModule, string>;
  primary: B2Client;
  replica: B2Client;
  /** Every secret the emulator handed out (to assert none leaks). */
  secrets: string[];
  urn(module: ProviderModule, name: string): string;
  /** Adds `__provider` for `module` to inputs. */
  withProvider(module: ProviderModule, inputs: Record<string, unknown>): Record<string, unknown>;
  close(): Promise<void>;
}

/** Primary credentials as stack config (Configure), replica ones as environment variables. */
export function stackConfigFor(emu: RunningEmulator, region = emu.info.regions[0]): Record<string, string> {
  return {
    'infrafabric-backup:b2ApplicationKeyId': region.keyId,
    'infrafabric-backup:b2ApplicationKey': region.applicationKey,
    'infrafabric-backup:b2RealmUrl': region.url,
  };
}

export async function startHarness(): Promise<Harness> {
  const emu = await startEmulator({ regions: ['us-west-004', 'eu-central-001'] });
  const [us, eu] = emu.info.regions;
  let host: ProviderHost | undefined;
  try {
    host = await startProviderHost({
      env: {
        // Nothing from the developer's shell may leak in: primary comes only through Configure.
        B2_APPLICATION_KEY_ID: '',
        B2_APPLICATION_KEY: '',
        B2_REALM_URL: '',
        B2_REPLICA_APPLICATION_KEY_ID: eu.keyId,
        B2_REPLICA_APPLICATION_KEY: eu.applicationKey,
        B2_REPLICA_REALM_URL: eu.url,
      },
    });
    await host.configure(stackConfigFor(emu));
  } catch (e) {
    await emu.stop();
    throw e;
  }
  const providers = {} as Record<ProviderModule, string>;
  for (const m of Object.keys(EXPORTS) as ProviderModule[])
    providers[m] = await serializeProvider(thinLoader(m, EXPORTS[m]));
  const h: Harness = {
    emu,
    host,
    providers,
    primary: new B2Client({
      applicationKeyId: us.keyId,
      applicationKey: us.applicationKey,
      realmUrl: us.url,
    }),
    replica: new B2Client({
      applicationKeyId: eu.keyId,
      applicationKey: eu.applicationKey,
      realmUrl: eu.url,
    }),
    secrets: [us.applicationKey, eu.applicationKey],
    urn: (m, name) => urnOf(TYPES[m], name),
    withProvider: (m, inputs) => ({ ...inputs, __provider: providers[m] }),
    async close() {
      await host!.stop();
      await emu.stop();
    },
  };
  return h;
}

/** Asserts that no secret appears in `text`. */
export function expectNoSecrets(h: Harness, text: string, extra: string[] = []): void {
  for (const s of [...h.secrets, ...extra]) {
    if (s && text.includes(s)) throw new Error(`secret material found in text (${s.length} chars)`);
  }
}

/** `DELETE /__admin/faults` (the shared helper's `admin()` speaks GET/POST only). */
export async function clearFaults(h: Harness): Promise<void> {
  const res = await fetch(`${h.emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${h.emu.info.adminToken}` },
  });
  if (!res.ok) throw new Error(`DELETE /__admin/faults -> ${res.status} ${await res.text()}`);
}
