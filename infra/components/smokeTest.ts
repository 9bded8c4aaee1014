/**
 * Post-provision smoke test of the generated keys (issue 7 part 5), on by stack config.
 *
 * For each backup bucket it proves, against B2 itself, that
 * - the `backup-writer` key CAN upload and CANNOT delete a file version;
 * - the `restore-reader` key CAN read (byte-exact) and CANNOT upload.
 * The probe file (`smoke-test/<resource>-<time>.txt`) is then deleted with the account's own
 * provisioning credentials, so nothing is left behind. It is written with SSE-C (a throw-away
 * customer key): B2 never replicates SSE-C files, so on a replicated bucket no copy can reach the
 * EU twin between the upload and the delete (the replica key could not delete it there).
 *
 * Why a dynamic resource and not `@pulumi/command`: the Command provider plugin must be built from
 * its Go module `github.com/pulumi/pulumi-command/provider`, and the Go module proxy reachable here
 * answers 403 for every version of it (`go list -m -versions` → "This module version is not
 * available"), and GitHub is unreachable. A dynamic resource runs in the plugin we already have,
 * uses the repository's B2 client, and fails `pulumi up` with a message naming the broken check —
 * the same contract a `local.Command` running a script would give (README "Main job").
 *
 * It runs on create and again whenever a key id, the bucket or the `trigger` input changes (key
 * rotation re-tests the new keys). `read` reports the recorded result (a refresh never re-probes).
 * Like the B2 providers, the serialised provider is a thin loader that `require()`s this module at
 * run time (infra/providers/loader.ts explains why); credentials come from the provider's
 * configuration or environment, never from a closure.
 */
import * as pulumi from '@pulumi/pulumi';
import type { B2Client } from '../b2';
import { loaderFor } from '../providers/loader';
import { DEFAULT_SMOKE_TEST_TRIGGER } from './defaults';

export interface KeySmokeTestArgs {
  bucketId: pulumi.Input<string>;
  bucketName: pulumi.Input<string>;
  writerKeyId: pulumi.Input<string>;
  /** Secret. */
  writerKey: pulumi.Input<string>;
  readerKeyId: pulumi.Input<string>;
  /** Secret. */
  readerKey: pulumi.Input<string>;
  /** Account holding bucket and keys. Default `primary`. */
  account?: pulumi.Input<'primary' | 'replica'>;
  /** Change to re-run the test without any other change. Default `initial`. */
  trigger?: pulumi.Input<string>;
}

interface SmokeInputs {
  bucketId: string;
  bucketName: string;
  writerKeyId: string;
  writerKey: string;
  readerKeyId: string;
  readerKey: string;
  account: 'primary' | 'replica';
  trigger: string;
}

export interface SmokeCheck {
  name: 'writer can upload' | 'writer cannot delete' | 'reader can read' | 'reader cannot write';
  ok: boolean;
  detail: string;
}

export interface SmokeOutputs {
  bucketId: string;
  bucketName: string;
  writerKeyId: string;
  readerKeyId: string;
  account: 'primary' | 'replica';
  trigger: string;
  checkedAt: string;
  checks: SmokeCheck[];
}

/** Fields whose change re-runs the test. */
export const SMOKE_RERUN_ON = ['bucketId', 'writerKeyId', 'readerKeyId', 'account', 'trigger'] as const;

function isRefusal(e: unknown): boolean {
  const status = (e as { status?: number }).status;
  return status === 401 || status === 403;
}

function describe(e: unknown): string {
  const err = e as { status?: number; code?: string; message?: string };
  return err.status ? `${err.status} ${err.code ?? ''}`.trim() : (err.message ?? String(e));
}

/**
 * The four checks, with scoped-key clients built from `realmUrl`. `admin` (the provisioning
 * credentials) removes the probe file afterwards. Never throws for a failed check: the result says.
 */
export async function runKeySmokeTest(o: {
  realmUrl: string;
  bucketId: string;
  bucketName: string;
  writer: { keyId: string; key: string };
  reader: { keyId: string; key: string };
  admin?: B2Client;
  probeName: string;
}): Promise<SmokeCheck[]> {
  const { B2Client: Client } = require('../b2') as typeof import('../b2');
  // Scoped keys fail fast: a refusal is the expected answer, so no retries on 4xx (the client never
  // retries them) and a short deadline for the rest.
  const retry = { maxAttempts: 3, budgetMs: 30_000 };
  const writer = new Client({
    applicationKeyId: o.writer.keyId,
    applicationKey: o.writer.key,
    realmUrl: o.realmUrl,
    retry,
  });
  const reader = new Client({
    applicationKeyId: o.reader.keyId,
    applicationKey: o.reader.key,
    realmUrl: o.realmUrl,
    retry,
  });
  const body = `infrafabric-backup key smoke test ${o.probeName}\n`;
  const { createHash, randomBytes } = require('crypto') as typeof import('crypto');
  const customerKey = randomBytes(32);
  const sseC = {
    customerKey: customerKey.toString('base64'),
    customerKeyMd5: createHash('md5').update(customerKey).digest('base64'),
  };
  const checks: SmokeCheck[] = [];
  let uploaded: { fileId: string; fileName: string } | undefined;
  try {
    const v = await writer.uploadFile({
      bucketId: o.bucketId,
      fileName: o.probeName,
      body,
      contentType: 'text/plain',
      serverSideEncryption: { mode: 'SSE-C', algorithm: 'AES256', ...sseC },
    });
    uploaded = { fileId: v.fileId!, fileName: v.fileName };
    checks.push({ name: 'writer can upload', ok: true, detail: `uploaded ${o.probeName}` });
  } catch (e) {
    checks.push({ name: 'writer can upload', ok: false, detail: `upload refused: ${describe(e)}` });
  }
  if (uploaded) {
    try {
      await writer.deleteFileVersion(uploaded.fileId, uploaded.fileName);
      checks.push({
        name: 'writer cannot delete',
        ok: false,
        detail: 'the writer key DELETED a file version (it must not hold deleteFiles)',
      });
      uploaded = undefined;
    } catch (e) {
      checks.push({
        name: 'writer cannot delete',
        ok: isRefusal(e),
        detail: isRefusal(e) ? `refused (${describe(e)})` : `unexpected error: ${describe(e)}`,
      });
    }
  }
  if (uploaded) {
    try {
      const { SecretString } = require('../b2') as typeof import('../b2');
      const dl = await reader.downloadFileById(uploaded.fileId, {
        sseCustomer: { key: new SecretString(sseC.customerKey), keyMd5: sseC.customerKeyMd5 },
      });
      const got = (await dl.buffer()).toString('utf8');
      checks.push({
        name: 'reader can read',
        ok: got === body,
        detail: got === body ? 'read back byte-exact' : 'read back different bytes',
      });
    } catch (e) {
      checks.push({ name: 'reader can read', ok: false, detail: `download refused: ${describe(e)}` });
    }
  } else {
    checks.push({
      name: 'reader can read',
      ok: false,
      detail: 'nothing to read: the writer upload did not succeed',
    });
  }
  try {
    const v = await reader.uploadFile({ bucketId: o.bucketId, fileName: `${o.probeName}.reader`, body: 'x' });
    checks.push({
      name: 'reader cannot write',
      ok: false,
      detail: 'the reader key UPLOADED a file (it must not hold writeFiles)',
    });
    if (o.admin) await o.admin.deleteFileVersion(v.fileId!, v.fileName).catch(() => undefined);
  } catch (e) {
    checks.push({
      name: 'reader cannot write',
      ok: isRefusal(e),
      detail: isRefusal(e) ? `refused (${describe(e)})` : `unexpected error: ${describe(e)}`,
    });
  }
  if (uploaded && o.admin)
    await o.admin.deleteFileVersion(uploaded.fileId, uploaded.fileName).catch(() => undefined);
  return checks;
}

function normalize(raw: Record<string, unknown>): SmokeInputs {
  return {
    bucketId: raw.bucketId as string,
    bucketName: raw.bucketName as string,
    writerKeyId: raw.writerKeyId as string,
    writerKey: raw.writerKey as string,
    readerKeyId: raw.readerKeyId as string,
    readerKey: raw.readerKey as string,
    account: (raw.account as 'primary' | 'replica') ?? 'primary',
    trigger: (raw.trigger as string) ?? DEFAULT_SMOKE_TEST_TRIGGER,
  };
}

async function probe(inputs: SmokeInputs, urnName: string): Promise<SmokeOutputs> {
  const { clientFor } = require('../providers/credentials') as typeof import('../providers/credentials');
  const admin = clientFor(inputs.account);
  const checkedAt = new Date().toISOString();
  const checks = await runKeySmokeTest({
    realmUrl: admin.realmUrl,
    bucketId: inputs.bucketId,
    bucketName: inputs.bucketName,
    writer: { keyId: inputs.writerKeyId, key: inputs.writerKey },
    reader: { keyId: inputs.readerKeyId, key: inputs.readerKey },
    admin,
    probeName: `smoke-test/${urnName}-${checkedAt.replace(/[:.]/g, '-')}.txt`,
  });
  const failed = checks.filter((c) => !c.ok);
  if (failed.length) {
    throw new Error(
      `key smoke test failed on bucket ${inputs.bucketName}: ` +
        failed.map((c) => `${c.name}: ${c.detail}`).join('; ') +
        ` (writer ${inputs.writerKeyId}, reader ${inputs.readerKeyId}). Check the keys' capabilities in infra/components/defaults.ts.`,
    );
  }
  const { writerKey: _w, readerKey: _r, ...rest } = inputs;
  return { ...rest, checkedAt, checks };
}

/** The real provider, loaded at run time through `loaderFor` (infra/providers/loader.ts). */
export const keySmokeTestProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    const { configureFromStack } =
      require('../providers/credentials') as typeof import('../providers/credentials');
    configureFromStack(req.config);
  },
  async check(_olds, news) {
    const missing = ['bucketId', 'bucketName', 'writerKeyId', 'writerKey', 'readerKeyId', 'readerKey'].filter(
      (k) => typeof news[k] !== 'string' || !news[k],
    );
    // Unknown values (preview of a new estate) arrive as a sentinel string, so only plain absence fails.
    if (missing.length)
      return { inputs: news, failures: missing.map((property) => ({ property, reason: 'is required' })) };
    return { inputs: normalize(news) };
  },
  async diff(_id, olds: SmokeOutputs, news: SmokeInputs) {
    const n = normalize(news as unknown as Record<string, unknown>);
    const changed = SMOKE_RERUN_ON.filter((k) => olds[k] !== n[k]);
    return { changes: changed.length > 0, replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs: SmokeInputs) {
    const n = normalize(inputs as unknown as Record<string, unknown>);
    return { id: `smoke-${n.bucketId}`, outs: await probe(n, n.bucketName) };
  },
  async update(_id, _olds, news: SmokeInputs) {
    const n = normalize(news as unknown as Record<string, unknown>);
    return { outs: await probe(n, n.bucketName) };
  },
  async read(id, props) {
    return { id, props };
  },
  async delete() {
    /* nothing lives in B2: the probe file was removed right after the test */
  },
};

/** One key smoke test (`pulumi-nodejs:dynamic/b2:KeySmokeTest`). */
export class KeySmokeTest extends pulumi.dynamic.Resource {
  declare readonly checkedAt: pulumi.Output<string>;
  declare readonly checks: pulumi.Output<SmokeCheck[]>;

  constructor(name: string, args: KeySmokeTestArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      // Serialised into the state: the shared thin loader resolves this module at run time.
      loaderFor('components/smokeTest', 'keySmokeTestProvider'),
      name,
      {
        ...args,
        writerKey: pulumi.secret(args.writerKey),
        readerKey: pulumi.secret(args.readerKey),
        checkedAt: undefined,
        checks: undefined,
      },
      { ...opts, additionalSecretOutputs: ['writerKey', 'readerKey'] },
      'b2',
      'KeySmokeTest',
    );
  }
}

export interface SmokeTargets {
  /** provider → bucket (id + name) and its writer/reader key outputs, as EnvironmentBackup exports them. */
  [provider: string]: {
    bucketId: pulumi.Input<string>;
    bucketName: pulumi.Input<string>;
    writer: { keyId: pulumi.Input<string>; applicationKey: pulumi.Input<string> };
    reader: { keyId: pulumi.Input<string>; applicationKey: pulumi.Input<string> };
  };
}

/** The per-environment smoke test: one KeySmokeTest per backup bucket. */
export class EnvironmentSmokeTest extends pulumi.ComponentResource {
  readonly tests: Record<string, KeySmokeTest> = {};

  constructor(
    name: string,
    args: { targets: SmokeTargets; trigger?: string },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('infrafabric:backup:EnvironmentSmokeTest', name, {}, opts);
    for (const [provider, t] of Object.entries(args.targets).sort(([a], [b]) => a.localeCompare(b))) {
      this.tests[provider] = new KeySmokeTest(
        `${name}-${provider}`,
        {
          bucketId: t.bucketId,
          bucketName: t.bucketName,
          writerKeyId: t.writer.keyId,
          writerKey: t.writer.applicationKey,
          readerKeyId: t.reader.keyId,
          readerKey: t.reader.applicationKey,
          trigger: args.trigger,
        },
        { parent: this },
      );
    }
    this.registerOutputs({
      checkedAt: Object.fromEntries(Object.entries(this.tests).map(([p, r]) => [p, r.checkedAt])),
    });
  }
}

/** Smoke targets from EnvironmentBackup's outputs: every provider that has both keys. */
export function smokeTargetsFrom(outputs: {
  buckets: Partial<Record<string, { name: pulumi.Input<string>; id: pulumi.Input<string> }>>;
  keys: {
    writer: Partial<Record<string, { keyId: pulumi.Input<string>; applicationKey: pulumi.Input<string> }>>;
    reader: Partial<Record<string, { keyId: pulumi.Input<string>; applicationKey: pulumi.Input<string> }>>;
  };
}): SmokeTargets {
  const targets: SmokeTargets = {};
  for (const [provider, b] of Object.entries(outputs.buckets)) {
    const writer = outputs.keys.writer[provider];
    const reader = outputs.keys.reader[provider];
    if (b && writer && reader) targets[provider] = { bucketId: b.id, bucketName: b.name, writer, reader };
  }
  return targets;
}
