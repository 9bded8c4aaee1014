/**
 * `b2:ApplicationKey` — a B2 application key (type `pulumi-nodejs:dynamic/b2:ApplicationKey`).
 *
 * B2 cannot change a key, so every field replaces it; replacement is create-before-delete
 * (`deleteBeforeReplace: false`), so consumers always have a working key. Bump `rotation` to rotate.
 * The secret (`applicationKey`) is returned once by B2 and kept only in the state, marked secret
 * through `additionalSecretOutputs`; it is never logged, never in an error, never in `__provider`.
 *
 * Ownership (ownership.ts): `ownerStack` (`<project>/<stack>`, default: the running program's) is
 * recorded with the key, and the components end key names with that stack's discriminator
 * (`-s` + 6 hex). Leftover cleanup (`deleteUnrecordedSameName`) deletes only keys whose name carries
 * this stack's discriminator and whose definition is the one being created, so one stack never
 * deletes another's keys. A name that differs from the recorded one only by the discriminator
 * (state written before discriminators) is not a replacement: the key in use keeps its old name
 * until the next rotation.
 *
 * `read` lists the account's keys once per provider process and account (a cache dropped on every
 * create and delete), so a refresh makes O(1) `b2_list_keys` walks per account, not one per key.
 */
import * as pulumi from '@pulumi/pulumi';
import type { B2Client } from '../b2';
import { B2Error } from '../b2/errors';
import { clientFor, configureFromStack } from './credentials';
import { isNotFound } from './b2ops';
import { thinLoader } from './loader';
import { isUnknown, normalizeSet, sameValue } from './normalize';
import { carriesDiscriminator, stackDiscriminator, stackIdentity } from './ownership';
import { ACCOUNT_ROLES, AccountRole } from './types';
import { validateCapabilities, validateKeyName } from './validation/keyCapabilities';
import { Problem } from './validation/problem';
import { validateKnownProperties } from './validation/unknownProperties';

export interface ApplicationKeyArgs {
  /** 1–100 letters, digits, `-`. https://www.backblaze.com/apidocs/b2-create-key */
  keyName: pulumi.Input<string>;
  /** Capabilities; bucket-scoped keys may hold only the bucket-level ones. https://www.backblaze.com/docs/cloud-storage-application-key-capabilities */
  capabilities: pulumi.Input<pulumi.Input<string>[]>;
  /** Buckets the key is restricted to (one or several, API v4). Default: account-wide. */
  bucketIds?: pulumi.Input<pulumi.Input<string>[]>;
  /** Restrict file access to names starting with this. Default: none. */
  namePrefix?: pulumi.Input<string | null>;
  /** Key lifetime in seconds (< 1000 days). Default: no expiry. */
  validDurationInSeconds?: pulumi.Input<number | null>;
  /** Any string; changing it rotates the key (new key first, then the old one is deleted). Default `initial`. */
  rotation?: pulumi.Input<string>;
  /** Account holding the key (`primary` default, or `replica`). */
  account?: pulumi.Input<AccountRole>;
  /** Adopt an existing key by id. B2 never shows a secret twice, so `applicationKey` is then empty. */
  adoptKeyId?: pulumi.Input<string>;
  /**
   * At create, delete keys already named `keyName` with this very definition (capabilities, scope,
   * name prefix) instead of only reporting them: with a name unique to this resource and rotation
   * (as the components make it) such a key is the leftover of an interrupted create, its secret
   * lost. A key this create replaces always differs, so create-before-delete is kept. Never with a
   * `validDurationInSeconds`. Default false (report only).
   */
  deleteUnrecordedSameName?: pulumi.Input<boolean>;
  /** `<project>/<stack>` owning the key. Default: the running program's. Not compared (state only). */
  ownerStack?: pulumi.Input<string>;
}

export interface ApplicationKeyInputs {
  keyName: string;
  capabilities: string[];
  bucketIds: string[];
  namePrefix: string | null;
  validDurationInSeconds: number | null;
  rotation: string;
  account: AccountRole;
  adoptKeyId?: string;
  deleteUnrecordedSameName: boolean;
  /** Absent only in state written before ownership existed. */
  ownerStack?: string;
}

export interface ApplicationKeyOutputs extends ApplicationKeyInputs {
  applicationKeyId: string;
  /** Secret. Empty for an adopted key. */
  applicationKey: string;
  accountId: string;
  expirationTimestamp: number | null;
  /** Other keys with the same name found at create (e.g. left by an interrupted create), reported not adopted. */
  sameNameKeyIds: string[];
}

/** Every input forces replacement: keys are immutable in B2. */
export const KEY_REPLACES = [
  'keyName',
  'capabilities',
  'bucketIds',
  'namePrefix',
  'validDurationInSeconds',
  'rotation',
  'account',
] as const;
const MAX_VALID_SECONDS = 86_400_000;

export function normalizeKeyInputs(raw: Partial<ApplicationKeyInputs>): ApplicationKeyInputs {
  const out: ApplicationKeyInputs = {
    keyName: raw.keyName as string,
    capabilities: normalizeSet(raw.capabilities),
    bucketIds: normalizeSet(raw.bucketIds),
    namePrefix: raw.namePrefix || null,
    validDurationInSeconds: raw.validDurationInSeconds ?? null,
    rotation: raw.rotation ?? 'initial',
    account: raw.account ?? 'primary',
    deleteUnrecordedSameName: raw.deleteUnrecordedSameName ?? false,
  };
  if (raw.adoptKeyId) out.adoptKeyId = raw.adoptKeyId;
  if (raw.ownerStack) out.ownerStack = raw.ownerStack;
  return out;
}

export function checkKey(news: Record<string, unknown>): Problem[] {
  const problems: Problem[] = [
    ...validateKeyName(news.keyName),
    ...validateKnownProperties(news, [
      ...KEY_REPLACES,
      'adoptKeyId',
      'deleteUnrecordedSameName',
      'ownerStack',
      'applicationKeyId',
      'applicationKey',
      'accountId',
      'expirationTimestamp',
      'sameNameKeyIds',
    ]),
  ];
  const bucketIds = news.bucketIds;
  // A whole list not known yet at preview (the engine's unknown sentinel) is judged at update;
  // the capabilities are still checked as for a scoped key.
  if (isUnknown(bucketIds)) return [...problems, ...validateCapabilities(news.capabilities, true)];
  if (
    bucketIds !== undefined &&
    (!Array.isArray(bucketIds) || bucketIds.some((b) => typeof b !== 'string' || !b))
  ) {
    problems.push({ property: 'bucketIds', reason: 'must be a list of bucket ids' });
  }
  const scoped = Array.isArray(bucketIds) && bucketIds.length > 0;
  problems.push(...validateCapabilities(news.capabilities, scoped));
  const v = news.validDurationInSeconds;
  if (
    v !== undefined &&
    v !== null &&
    (!Number.isInteger(v) || (v as number) < 1 || (v as number) > MAX_VALID_SECONDS)
  ) {
    problems.push({
      property: 'validDurationInSeconds',
      reason: `must be a whole number from 1 to ${MAX_VALID_SECONDS} (1000 days)`,
    });
  }
  if (news.namePrefix !== undefined && news.namePrefix !== null && typeof news.namePrefix !== 'string') {
    problems.push({ property: 'namePrefix', reason: 'must be a string' });
  }
  if (news.account !== undefined && !(ACCOUNT_ROLES as readonly unknown[]).includes(news.account)) {
    problems.push({ property: 'account', reason: `must be one of ${ACCOUNT_ROLES.join(', ')}` });
  }
  const owner = news.ownerStack;
  if (
    owner !== undefined &&
    !isUnknown(owner) &&
    (typeof owner !== 'string' || !/^[^/\s]+\/[^/\s]+$/.test(owner))
  ) {
    problems.push({
      property: 'ownerStack',
      reason: `must be "<project>/<stack>", got ${JSON.stringify(owner)}`,
    });
  }
  return problems;
}

/**
 * Fields whose change replaces the key. A new name that is the recorded one plus this stack's
 * discriminator (`<old>-s1a2b3c`, the upgrade from names without one) is not a change: B2 cannot
 * rename a key, and replacing every key in use only to rename it would cut off its consumers.
 */
export function changedKeyFields(olds: Partial<ApplicationKeyInputs>, news: ApplicationKeyInputs): string[] {
  const o = normalizeKeyInputs(olds);
  return KEY_REPLACES.filter((f) => !sameValue(o[f], news[f])).filter(
    (f) => !(f === 'keyName' && isDiscriminatorOnlyRename(o.keyName, news)),
  );
}

function isDiscriminatorOnlyRename(oldName: string, news: ApplicationKeyInputs): boolean {
  return (
    !!news.ownerStack &&
    typeof oldName === 'string' &&
    !carriesDiscriminator(oldName, news.ownerStack) &&
    news.keyName === `${oldName}-${stackDiscriminator(news.ownerStack)}`
  );
}

type LiveKey = {
  applicationKeyId: string;
  keyName: string;
  capabilities: string[];
  bucketId?: string | null;
  bucketIds?: string[] | null;
  namePrefix: string | null;
  expirationTimestamp: number | null;
  accountId: string;
};

async function listAllKeys(client: B2Client): Promise<LiveKey[]> {
  const keys: LiveKey[] = [];
  for await (const k of client.listKeys()) keys.push(k as LiveKey);
  return keys;
}

/**
 * One listing per account client in this provider process, shared by concurrent reads and kept for
 * KEY_LIST_TTL_MS: the engine reads every key of a refresh within moments, and an out-of-band
 * change is seen by any read that starts later than that.
 */
const keyListCache = new Map<B2Client, { at: number; keys: Promise<LiveKey[]> }>();
export const KEY_LIST_TTL_MS = 5_000;

function cachedKeys(client: B2Client): Promise<LiveKey[]> {
  const hit = keyListCache.get(client);
  if (hit && Date.now() - hit.at < KEY_LIST_TTL_MS) return hit.keys;
  const entry = { at: Date.now(), keys: listAllKeys(client) };
  keyListCache.set(client, entry);
  // A failed listing is not kept: the next read tries again.
  entry.keys.catch(() => {
    if (keyListCache.get(client) === entry) keyListCache.delete(client);
  });
  return entry.keys;
}

/** Drops the cached listing of `client`'s account (after any create or delete of a key). */
export function forgetKeyList(client?: B2Client): void {
  if (client) keyListCache.delete(client);
  else keyListCache.clear();
}

function liveBucketIds(k: LiveKey): string[] {
  return normalizeSet(k.bucketIds ?? (k.bucketId ? [k.bucketId] : []));
}

const log = (line: string) => process.stderr.write(`[b2:ApplicationKey] ${line}\n`);

async function createKey(
  inputs: ApplicationKeyInputs,
): Promise<pulumi.dynamic.CreateResult<ApplicationKeyOutputs>> {
  const client = clientFor(inputs.account);
  forgetKeyList(client);
  const all = await listAllKeys(client);
  if (inputs.adoptKeyId) {
    const k = all.find((x) => x.applicationKeyId === inputs.adoptKeyId);
    if (!k) throw new Error(`adoptKeyId: no key ${inputs.adoptKeyId} in the ${inputs.account} account`);
    log(
      `adopting key ${k.keyName} (${k.applicationKeyId}); its secret cannot be read back, so applicationKey is empty`,
    );
    return {
      id: k.applicationKeyId,
      outs: { ...inputs, ...liveKeyFields(k), applicationKey: '', sameNameKeyIds: [] },
    };
  }
  // A key created by a run that crashed before recording it cannot be adopted (B2 shows a secret
  // once). It is always reported (log line and the `sameNameKeyIds` output), and deleted when the
  // caller vouches that the name is unique to this resource and rotation; otherwise a same-name key
  // may legitimately be the one this create replaces.
  const sameName = all.filter((k) => k.keyName === inputs.keyName);
  const sameNameKeyIds = sameName.map((k) => k.applicationKeyId).sort();
  // A leftover of THIS create has exactly this definition. A key being replaced by this create
  // (create-before-delete) differs in capabilities, scope or name prefix — or in its name, since
  // the components put the rotation in it — so it is never taken for a leftover. A lifetime change
  // cannot be told apart (B2 shows only the absolute expiry), hence no deletion with a lifetime.
  // Only keys named with THIS stack's discriminator can be this stack's leftovers: a same-name key
  // without it (or with another stack's) is never deleted, whatever its definition.
  const ours = !!inputs.ownerStack && carriesDiscriminator(inputs.keyName, inputs.ownerStack);
  if (inputs.deleteUnrecordedSameName && !ours && sameName.length) {
    log(
      `not deleting same-name keys of ${inputs.keyName}: the name does not end with this stack's discriminator ` +
        `(${inputs.ownerStack ? stackDiscriminator(inputs.ownerStack) : 'no ownerStack'}), so they cannot be proven ours`,
    );
  }
  const leftovers =
    inputs.deleteUnrecordedSameName && ours && inputs.validDurationInSeconds === null
      ? sameName.filter(
          (k) =>
            sameValue(normalizeSet(k.capabilities), inputs.capabilities) &&
            sameValue(liveBucketIds(k), inputs.bucketIds) &&
            (k.namePrefix ?? null) === inputs.namePrefix,
        )
      : [];
  for (const k of leftovers) await deleteKeyIfPresent(client, k.applicationKeyId);
  if (leftovers.length) {
    log(
      `deleted ${leftovers.length} unrecorded key(s) named ${inputs.keyName} ` +
        `(${leftovers.map((k) => k.applicationKeyId).join(', ')}): left by an interrupted create; their secrets were never recorded`,
    );
  }
  const others = sameNameKeyIds.filter((id) => !leftovers.some((k) => k.applicationKeyId === id));
  if (others.length) {
    log(
      `note: ${others.length} existing key(s) named ${inputs.keyName}: ${others.join(', ')}. ` +
        'Unless one is being replaced by this run, it may be left over from an interrupted create; delete it if unused.',
    );
  }
  forgetKeyList(client);
  // A lost answer is reconciled by the client: the orphan it made (not among the keys listed
  // above) is deleted and a fresh key created (infra/b2/client.ts createKey).
  const created = await client.createKey(
    {
      keyName: inputs.keyName,
      capabilities: inputs.capabilities,
      ...(inputs.bucketIds.length ? { bucketIds: inputs.bucketIds } : {}),
      ...(inputs.namePrefix ? { namePrefix: inputs.namePrefix } : {}),
      ...(inputs.validDurationInSeconds ? { validDurationInSeconds: inputs.validDurationInSeconds } : {}),
    } as Parameters<B2Client['createKey']>[0],
    { knownKeyIds: all.map((k) => k.applicationKeyId) },
  );
  forgetKeyList(client);
  const secret = (created as { applicationKey: { reveal(): string } | string }).applicationKey;
  return {
    id: created.applicationKeyId,
    outs: {
      ...inputs,
      ...liveKeyFields(created as unknown as LiveKey),
      applicationKey: typeof secret === 'string' ? secret : secret.reveal(),
      sameNameKeyIds,
    },
  };
}

/**
 * Deletes a key; a key that is already gone is fine. B2 answers an unknown key id with a generic
 * 400 bad_request, so rather than parse its message we check whether the key is still listed.
 */
async function deleteKeyIfPresent(client: B2Client, id: string): Promise<void> {
  forgetKeyList(client);
  try {
    await client.deleteKey(id);
  } catch (e) {
    if (isNotFound(e)) return;
    if (
      e instanceof B2Error &&
      e.status === 400 &&
      !(await listAllKeys(client)).some((k) => k.applicationKeyId === id)
    )
      return;
    throw e;
  }
}

function liveKeyFields(k: LiveKey) {
  return {
    applicationKeyId: k.applicationKeyId,
    accountId: k.accountId,
    expirationTimestamp: k.expirationTimestamp ?? null,
  };
}

export const applicationKeyProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    configureFromStack(req.config);
  },

  async check(_olds, news) {
    const failures = checkKey(news);
    if (failures.length) return { inputs: news, failures };
    return { inputs: normalizeKeyInputs(news) };
  },

  async diff(_id, olds: ApplicationKeyOutputs, news: ApplicationKeyInputs) {
    const replaces = changedKeyFields(olds, normalizeKeyInputs(news));
    return { changes: replaces.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: ApplicationKeyInputs) {
    return createKey(normalizeKeyInputs(inputs));
  },

  /** Live fields from b2_list_keys; the secret cannot be read back and is carried from the state. */
  async read(id, props?: Partial<ApplicationKeyOutputs>) {
    const client = clientFor(props?.account ?? 'primary');
    const k = (await cachedKeys(client)).find((x) => x.applicationKeyId === id);
    if (!k) return { id: '', props: {} };
    return {
      id,
      props: {
        ...normalizeKeyInputs(props ?? {}),
        keyName: k.keyName,
        capabilities: normalizeSet(k.capabilities),
        bucketIds: liveBucketIds(k),
        namePrefix: k.namePrefix ?? null,
        ...liveKeyFields(k),
        applicationKey: props?.applicationKey ?? '',
        sameNameKeyIds: props?.sameNameKeyIds ?? [],
        validDurationInSeconds: props?.validDurationInSeconds ?? null,
      },
    };
  },

  /** Nothing about a key can change in place; diff always asks for a replacement instead. */
  async update(_id, olds: ApplicationKeyOutputs) {
    return { outs: olds };
  },

  async delete(id, props: ApplicationKeyOutputs) {
    await deleteKeyIfPresent(clientFor(props.account ?? 'primary'), id);
  },
};

export class ApplicationKey extends pulumi.dynamic.Resource {
  declare readonly keyName: pulumi.Output<string>;
  declare readonly capabilities: pulumi.Output<string[]>;
  declare readonly bucketIds: pulumi.Output<string[]>;
  declare readonly namePrefix: pulumi.Output<string | null>;
  declare readonly rotation: pulumi.Output<string>;
  declare readonly account: pulumi.Output<AccountRole>;
  declare readonly applicationKeyId: pulumi.Output<string>;
  /** Secret output. */
  declare readonly applicationKey: pulumi.Output<string>;
  declare readonly accountId: pulumi.Output<string>;
  declare readonly expirationTimestamp: pulumi.Output<number | null>;
  declare readonly sameNameKeyIds: pulumi.Output<string[]>;

  constructor(name: string, args: ApplicationKeyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      thinLoader('applicationKey', 'applicationKeyProvider'),
      name,
      {
        ...args,
        ownerStack: args.ownerStack ?? stackIdentity(pulumi.getProject(), pulumi.getStack()),
        applicationKeyId: undefined,
        applicationKey: undefined,
        accountId: undefined,
        expirationTimestamp: undefined,
        sameNameKeyIds: undefined,
      },
      pulumi.mergeOptions(opts, { additionalSecretOutputs: ['applicationKey'] }),
      'b2',
      'ApplicationKey',
    );
  }
}
