/* eslint-disable @typescript-eslint/no-explicit-any -- mock inputs/outputs are arbitrary property bags. */
/**
 * Pulumi engine mocks for component tests (the only place mocks are used: no B2 here). Records
 * every registered resource; dynamic resources get plausible computed outputs derived from their
 * name, the key secret included so tests can check it comes back as a secret.
 */
import * as pulumi from '@pulumi/pulumi';
import * as fs from 'fs';
import * as path from 'path';
import { parse } from 'yaml';

export interface Registered {
  type: string;
  name: string;
  inputs: Record<string, any>;
  /** The `protect` option as the engine would receive it. */
  protect?: boolean;
  /** Alias specs (`{name, type, parentUrn, noParent, ...}`) and alias URNs, as sent to the engine. */
  aliases?: Array<Record<string, any>>;
  /** URN of the parent, as sent to the engine. */
  parent?: string;
}

export const BUCKET_TYPE = 'pulumi-nodejs:dynamic/b2:Bucket';
export const KEY_TYPE = 'pulumi-nodejs:dynamic/b2:ApplicationKey';
export const REPLICATION_TYPE = 'pulumi-nodejs:dynamic/b2:Replication';

export const fakeSecret = (name: string) => `K005-fake-secret-for-${name}`;

/**
 * Installs the mocks. Like the real engine, the mock marks each resource's
 * `additionalSecretOutputs` secret — the stock mock monitor ignores that option, so its requests
 * are intercepted to learn which outputs to wrap.
 */
export function installMocks(stack = 'dev', project = 'infrafabric-backup'): Registered[] {
  const registered: Registered[] = [];
  const secretOutputs = new Map<string, string[]>();
  const registrationOptions = new Map<string, Pick<Registered, 'protect' | 'aliases' | 'parent'>>();
  // setMocks is async but does all its work before its first await: nothing to wait for.
  void pulumi.runtime.setMocks(
    {
      newResource(args: pulumi.runtime.MockResourceArgs) {
        const opts = registrationOptions.get(`${args.type}::${args.name}`) ?? {};
        registered.push({ type: args.type, name: args.name, inputs: args.inputs, ...opts });
        const state: Record<string, any> = { ...args.inputs };
        if (args.type === BUCKET_TYPE) {
          Object.assign(state, {
            bucketId: `bucket-id-${args.name}`,
            revision: 2,
            accountId: args.inputs.account === 'replica' ? 'acct-eu' : 'acct-us',
            s3Endpoint:
              args.inputs.account === 'replica'
                ? 'https://s3.eu-central-003.backblazeb2.com'
                : 'https://s3.us-west-004.backblazeb2.com',
          });
        } else if (args.type === KEY_TYPE) {
          Object.assign(state, {
            applicationKeyId: `key-id-${args.name}`,
            applicationKey: fakeSecret(args.name),
            sameNameKeyIds: [],
          });
        }
        for (const p of secretOutputs.get(`${args.type}::${args.name}`) ?? []) {
          if (p in state) state[p] = pulumi.secret(state[p]);
        }
        // Like the real providers: a bucket's id is its bucketId, a key's id its applicationKeyId.
        const id = (state.bucketId ?? state.applicationKeyId ?? `${args.name}-id`) as string;
        return { id, state };
      },
      call: (args) => args.inputs,
    },
    project,
    stack,
    false,
  );
  const monitor = pulumi.runtime.getMonitor() as any;
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, callback: unknown) => {
    secretOutputs.set(`${req.getType()}::${req.getName()}`, req.getAdditionalsecretoutputsList());
    registrationOptions.set(`${req.getType()}::${req.getName()}`, {
      protect: req.getProtect(),
      aliases: [
        ...req.getAliasesList().map((a: any) => a.toObject()),
        ...req.getAliasurnsList().map((urn: string) => ({ urn })),
      ],
      parent: req.getParent(),
    });
    return register(req, callback);
  };
  return registered;
}

/** Resolves an Output (mocks run synchronously enough that this settles). */
export function valueOf<T>(o: pulumi.Output<T> | pulumi.Input<T>): Promise<T> {
  return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

/** Waits until pending registrations have been recorded. */
export const settle = () => new Promise((r) => setTimeout(r, 50));

/** A stack file's config as `pulumi.runtime.allConfig()` would return it (objects as JSON text). */
export function stackConfigFromFile(stack: string): Record<string, string> {
  const file = path.join(__dirname, '..', '..', '..', `Pulumi.${stack}.yaml`);
  const doc = parse(fs.readFileSync(file, 'utf8')) as { config: Record<string, unknown> };
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(doc.config ?? {}))
    out[k] = typeof v === 'string' ? v : JSON.stringify(v);
  return out;
}
