/**
 * `b2:Bucket` — a B2 bucket as a Pulumi dynamic resource (type `pulumi-nodejs:dynamic/b2:Bucket`).
 *
 * What replaces and what updates in place (docs/architecture.md §3):
 * - replace: `bucketName` (B2 cannot rename), `account` (a bucket cannot move between accounts);
 * - update in place: `bucketType`, `bucketInfo`, `corsRules`, `lifecycleRules`,
 *   `defaultServerSideEncryption`, `fileLockEnabled` (false → true only), `defaultRetention`;
 * - state only: `forceDestroy`, `disposable`, `adoptBucketId`, `owner` (reaches B2 as the
 *   bucketInfo marker), `acknowledgeIrreversible`.
 * - refused at check (preview): moving a bucket to the other `account` under the same name, and
 *   enabling Object Lock on an existing bucket without `acknowledgeIrreversible: true`.
 *
 * Ownership (ownership.ts): every bucket carries `owner-stack` / `owner-resource` in its bucketInfo.
 * `create` adopts a same-name bucket only when that marker names this very stack and resource (a
 * create retried after a crash); any other bucket is refused (`BucketOwnedElsewhere`) until taken
 * over deliberately with `adoptBucketId`, which rewrites the marker. Update and delete never touch
 * a bucket whose marker names another stack.
 * Replication is NOT managed here (see replication.ts): this provider never sends or compares
 * `replicationConfiguration`, so the two never fight.
 *
 * The class registers `thinLoader('bucket', 'bucketProvider')` as its provider; the engine calls the
 * `bucketProvider` object below through it (see loader.ts for why).
 */
import * as pulumi from '@pulumi/pulumi';
import type { B2Client } from '../b2';
import { clientFor, configureFromStack } from './credentials';
import { CORS_OPERATIONS } from '../b2/wire/cors';
import { thinLoader } from './loader';
import {
  normalizeCorsRules,
  normalizeLifecycleRules,
  isUnknown,
  normalizeStringMap,
  sameValue,
} from './normalize';
import {
  countVersions,
  deleteAllVersions,
  describeError,
  findBucketById,
  findBucketByName,
  isDuplicateBucketName,
  s3EndpointOf,
  updateBucketWithRetry,
} from './b2ops';
import {
  ACCOUNT_ROLES,
  AccountRole,
  BUCKET_TYPES,
  BucketType,
  CorsRule,
  DefaultRetention,
  DefaultServerSideEncryption,
  LifecycleRule,
} from './types';
import {
  BucketOwner,
  MAX_BUCKET_INFO_ENTRIES,
  OWNER_KEYS,
  describeOwner,
  ownerInfo,
  ownerOf,
  ownerProblem,
  sameOwner,
  stackIdentity,
} from './ownership';
import { validateBucketName } from './validation/bucketName';
import { validateLifecycleRules } from './validation/lifecycleRules';
import { Problem } from './validation/problem';
import { validateKnownProperties } from './validation/unknownProperties';

/** Arguments of a `Bucket`. */
export interface BucketArgs {
  /** Globally unique bucket name (6–63, `[a-z0-9-]`, not `b2-…`). Changing it replaces the bucket. */
  bucketName: pulumi.Input<string>;
  /** `allPrivate` (default) or `allPublic`. https://www.backblaze.com/apidocs/b2-create-bucket */
  bucketType?: pulumi.Input<BucketType>;
  /** Free-form string map stored on the bucket. Default `{}`. */
  bucketInfo?: pulumi.Input<Record<string, pulumi.Input<string>>>;
  /** CORS rules. Default `[]`. https://www.backblaze.com/docs/cloud-storage-cross-origin-resource-sharing-rules */
  corsRules?: pulumi.Input<CorsRule[]>;
  /** Lifecycle rules, one per prefix, no overlaps. Default `[]`. https://www.backblaze.com/docs/cloud-storage-lifecycle-rules */
  lifecycleRules?: pulumi.Input<LifecycleRule[]>;
  /** Default encryption; only SSE-B2/AES256 (the default). https://www.backblaze.com/docs/cloud-storage-server-side-encryption */
  defaultServerSideEncryption?: pulumi.Input<DefaultServerSideEncryption>;
  /** Object Lock. Default false; can be turned on later, never off. https://www.backblaze.com/docs/cloud-storage-object-lock */
  fileLockEnabled?: pulumi.Input<boolean>;
  /** Default retention for new files; needs `fileLockEnabled`. Default none. */
  defaultRetention?: pulumi.Input<DefaultRetention | null>;
  /** Let delete remove every file version first. Default false (a non-empty bucket is refused). */
  forceDestroy?: pulumi.Input<boolean>;
  /**
   * The stack is explicitly throw-away (stack config `disposable`). Only then may force-destroy
   * delete files under governance retention (`bypassGovernance`); otherwise it stops at them.
   * Default false.
   */
  disposable?: pulumi.Input<boolean>;
  /** Which account holds the bucket (`primary` default, or `replica`). Changing it replaces. */
  account?: pulumi.Input<AccountRole>;
  /**
   * Adopt this existing bucket (by id) instead of creating one; its name must equal `bucketName`.
   * This is the deliberate take-over: the bucket's ownership marker is rewritten to this stack.
   */
  adoptBucketId?: pulumi.Input<string>;
  /**
   * Ownership marker written to bucketInfo (`owner-stack`, `owner-resource`, see ownership.ts).
   * Default: this program's `<project>/<stack>` and this resource's name.
   */
  owner?: pulumi.Input<BucketOwner>;
  /** Must be true to enable Object Lock on an existing bucket (B2 can never disable it). Default false. */
  acknowledgeIrreversible?: pulumi.Input<boolean>;
}

/** Resolved inputs after `check` (defaults applied, canonical order). */
export interface BucketInputs {
  bucketName: string;
  bucketType: BucketType;
  bucketInfo: Record<string, string>;
  corsRules: CorsRule[];
  lifecycleRules: LifecycleRule[];
  defaultServerSideEncryption: DefaultServerSideEncryption;
  fileLockEnabled: boolean;
  defaultRetention: DefaultRetention | null;
  forceDestroy: boolean;
  disposable: boolean;
  account: AccountRole;
  adoptBucketId?: string;
  /** Absent only in state written before ownership markers existed. */
  owner?: BucketOwner;
  acknowledgeIrreversible?: boolean;
  /** Set by check when this update does something B2 can never undo (shown in the plan). */
  irreversible?: string;
}

/** State: the inputs as live in B2, plus what B2 computed. */
export interface BucketOutputs extends Omit<BucketInputs, 'defaultServerSideEncryption'> {
  /** null when B2 reports no default encryption (drift from SSE-B2). */
  defaultServerSideEncryption: DefaultServerSideEncryption | null;
  bucketId: string;
  revision: number;
  accountId: string;
  s3Endpoint: string;
}

const DEFAULT_SSE: DefaultServerSideEncryption = { mode: 'SSE-B2', algorithm: 'AES256' };

/** Fields compared for in-place updates, and those that force replacement. */
export const BUCKET_UPDATABLE = [
  'bucketType',
  'bucketInfo',
  'corsRules',
  'lifecycleRules',
  'defaultServerSideEncryption',
  'fileLockEnabled',
  'defaultRetention',
  'forceDestroy',
  'disposable',
] as const;
export const BUCKET_REPLACES = ['bucketName', 'account'] as const;
/** Every property a Bucket accepts (inputs, and outputs the engine echoes back). */
const BUCKET_PROPERTIES = [
  ...BUCKET_REPLACES,
  ...BUCKET_UPDATABLE,
  'adoptBucketId',
  'owner',
  'acknowledgeIrreversible',
  'irreversible',
  'bucketId',
  'revision',
  'accountId',
  's3Endpoint',
];

/** Applies defaults and canonical order; does not validate. */
export function normalizeBucketInputs(raw: Partial<BucketInputs> & Record<string, unknown>): BucketInputs {
  const owner = raw.owner ? { stack: raw.owner.stack, resource: raw.owner.resource } : undefined;
  const out: BucketInputs = {
    bucketName: raw.bucketName as string,
    bucketType: raw.bucketType ?? 'allPrivate',
    // The marker is part of the desired bucketInfo, so it shows in plans and drift is repaired.
    bucketInfo: isUnknown(raw.bucketInfo)
      ? normalizeStringMap(raw.bucketInfo)
      : normalizeStringMap({ ...(raw.bucketInfo ?? {}), ...(owner ? ownerInfo(owner) : {}) }),
    corsRules: normalizeCorsRules(raw.corsRules),
    lifecycleRules: normalizeLifecycleRules(raw.lifecycleRules),
    defaultServerSideEncryption: raw.defaultServerSideEncryption ?? DEFAULT_SSE,
    fileLockEnabled: raw.fileLockEnabled ?? false,
    defaultRetention: raw.defaultRetention ?? null,
    forceDestroy: raw.forceDestroy ?? false,
    disposable: raw.disposable ?? false,
    account: raw.account ?? 'primary',
  };
  if (raw.adoptBucketId) out.adoptBucketId = raw.adoptBucketId;
  if (owner) out.owner = owner;
  if (raw.acknowledgeIrreversible) out.acknowledgeIrreversible = true;
  if (typeof raw.irreversible === 'string') out.irreversible = raw.irreversible;
  return out;
}

function validateCors(rules: unknown): Problem[] {
  if (rules === undefined || rules === null) return [];
  if (!Array.isArray(rules)) return [{ property: 'corsRules', reason: 'must be a list of CORS rules' }];
  const problems: Problem[] = [];
  const names = new Set<string>();
  rules.forEach((r: Partial<CorsRule>, i) => {
    const at = `corsRules[${i}]`;
    if (
      typeof r?.corsRuleName !== 'string' ||
      !/^[A-Za-z0-9-]{6,50}$/.test(r.corsRuleName) ||
      r.corsRuleName.startsWith('b2-')
    ) {
      problems.push({
        property: `${at}.corsRuleName`,
        reason: '6-50 letters, digits or "-", not starting with "b2-"',
      });
    } else if (names.has(r.corsRuleName)) {
      problems.push({ property: `${at}.corsRuleName`, reason: `duplicate rule name "${r.corsRuleName}"` });
    } else names.add(r.corsRuleName);
    if (!Array.isArray(r?.allowedOrigins) || r.allowedOrigins.length === 0) {
      problems.push({
        property: `${at}.allowedOrigins`,
        reason: 'needs at least one origin ("*" alone for any)',
      });
    }
    const bad = (Array.isArray(r?.allowedOperations) ? r.allowedOperations : [null]).filter(
      (o) => !(CORS_OPERATIONS as readonly unknown[]).includes(o),
    );
    if (bad.length || !r?.allowedOperations?.length) {
      problems.push({
        property: `${at}.allowedOperations`,
        reason: `each must be one of ${CORS_OPERATIONS.join(', ')}`,
      });
    }
    if (
      !Number.isInteger(r?.maxAgeSeconds) ||
      (r.maxAgeSeconds as number) < 0 ||
      (r.maxAgeSeconds as number) > 86400
    ) {
      problems.push({ property: `${at}.maxAgeSeconds`, reason: 'must be a whole number from 0 to 86400' });
    }
  });
  return problems;
}

/** All `check` findings for desired bucket inputs (`olds` = previous inputs, for one-way rules). */
export function checkBucket(
  olds: Partial<BucketInputs> | undefined,
  news: Record<string, unknown>,
): Problem[] {
  const problems: Problem[] = isUnknown(news.bucketName) ? [] : [...validateBucketName(news.bucketName)];
  problems.push(...validateKnownProperties(news, BUCKET_PROPERTIES));
  if (news.bucketType !== undefined && !(BUCKET_TYPES as readonly unknown[]).includes(news.bucketType)) {
    problems.push({ property: 'bucketType', reason: `must be one of ${BUCKET_TYPES.join(', ')}` });
  }
  if (news.account !== undefined && !(ACCOUNT_ROLES as readonly unknown[]).includes(news.account)) {
    problems.push({ property: 'account', reason: `must be one of ${ACCOUNT_ROLES.join(', ')}` });
  }
  // Values not known yet at preview are judged when they are (check runs again at update).
  if (!isUnknown(news.lifecycleRules)) problems.push(...validateLifecycleRules(news.lifecycleRules));
  if (!isUnknown(news.corsRules)) problems.push(...validateCors(news.corsRules));
  const sse = news.defaultServerSideEncryption as { mode?: unknown; algorithm?: unknown } | undefined;
  if (sse !== undefined && (sse?.mode !== 'SSE-B2' || (sse.algorithm ?? 'AES256') !== 'AES256')) {
    problems.push({
      property: 'defaultServerSideEncryption',
      reason:
        'only {mode: "SSE-B2", algorithm: "AES256"} is supported: SSE-C cannot be a bucket default and B2 no longer ' +
        'accepts "no encryption"',
    });
  }
  const info = (isUnknown(news.bucketInfo) ? undefined : news.bucketInfo) as
    Record<string, unknown> | undefined;
  if (
    info !== undefined &&
    (typeof info !== 'object' || info === null || Object.values(info).some((v) => typeof v !== 'string'))
  ) {
    problems.push({ property: 'bucketInfo', reason: 'must be a map of strings' });
  } else if (info !== undefined) {
    const reserved = Object.keys(info).filter((k) => OWNER_KEYS.includes(k));
    if (reserved.length) {
      problems.push({
        property: 'bucketInfo',
        reason: `${reserved.join(', ')} is reserved for the ownership marker (set through the owner input)`,
      });
    }
    if (Object.keys(info).length + OWNER_KEYS.length > MAX_BUCKET_INFO_ENTRIES) {
      problems.push({
        property: 'bucketInfo',
        reason:
          `${Object.keys(info).length} entries plus the ${OWNER_KEYS.length} of the ownership marker exceed ` +
          `B2's limit of ${MAX_BUCKET_INFO_ENTRIES}; drop some`,
      });
    }
  }
  if (!isUnknown(news.owner)) {
    const why = ownerProblem(news.owner);
    if (why) problems.push({ property: 'owner', reason: why });
  }
  const existing = olds !== undefined && typeof olds.bucketName === 'string';
  if (
    existing &&
    news.bucketName === olds!.bucketName &&
    news.account !== undefined &&
    !isUnknown(news.account) &&
    (olds!.account ?? 'primary') !== news.account
  ) {
    problems.push({
      property: 'account',
      reason:
        `AccountChangeRefused: bucket "${olds!.bucketName}" is in the ${olds!.account ?? 'primary'} account and cannot ` +
        `move to the ${String(news.account)} account: B2 cannot move a bucket, and a new bucket of the same name ` +
        'cannot exist while the old one does (names are global). To move it by hand: give the new bucket another ' +
        'name (stack config nameSuffix/namePrefix), `pulumi up` (creates it in the new account), copy the data ' +
        '(e.g. `rclone sync` or `b2 sync` between the two), then delete the old bucket when it is no longer needed',
    });
  }
  if (
    existing &&
    olds!.fileLockEnabled !== true &&
    news.fileLockEnabled === true &&
    news.acknowledgeIrreversible !== true
  ) {
    problems.push({
      property: 'fileLockEnabled',
      reason:
        `IrreversibleChangeNotAcknowledged: enabling Object Lock on the existing bucket "${String(news.bucketName)}" ` +
        'is irreversible (B2 can never disable it). If that is intended, acknowledge it: stack config ' +
        '`objectLock.acknowledgeIrreversible: true` (Bucket input acknowledgeIrreversible: true)',
    });
  }
  const lockWanted = news.fileLockEnabled === true;
  if (olds?.fileLockEnabled === true && news.fileLockEnabled !== true) {
    problems.push({
      property: 'fileLockEnabled',
      reason:
        `ObjectLockNotInConfig: bucket "${String(olds.bucketName)}" has Object Lock enabled (applied, or found by ` +
        'refresh) and B2 can never disable it; declare it: stack config `objectLock.enabled: true` (with ' +
        '`objectLock.acknowledgeIrreversible: true`), Bucket input fileLockEnabled: true (to stop locking new ' +
        'files, set defaultRetention to null instead)',
    });
  }
  const ret = news.defaultRetention as Partial<DefaultRetention> | null | undefined;
  if (ret) {
    if (!lockWanted) problems.push({ property: 'defaultRetention', reason: 'needs fileLockEnabled: true' });
    if (ret.mode !== 'governance' && ret.mode !== 'compliance') {
      problems.push({ property: 'defaultRetention.mode', reason: 'must be "governance" or "compliance"' });
    }
    const p = ret.period;
    const days = p ? (p.unit === 'years' ? p.duration * 365 : p.duration) : NaN;
    if (
      !p ||
      !Number.isInteger(p.duration) ||
      (p.unit !== 'days' && p.unit !== 'years') ||
      days < 1 ||
      days > 3000
    ) {
      problems.push({
        property: 'defaultRetention.period',
        reason: 'must be {duration, unit: "days"|"years"} between 1 and 3000 days',
      });
    }
  }
  return problems;
}

/** Names of the fields whose desired value differs from `olds` (state), in a stable order. */
export function changedBucketFields(olds: Partial<BucketOutputs>, news: BucketInputs): string[] {
  const changed: string[] = [];
  for (const f of [...BUCKET_REPLACES, ...BUCKET_UPDATABLE]) {
    const o = normalizeField(f, (olds as Record<string, unknown>)[f]);
    const n = normalizeField(f, (news as unknown as Record<string, unknown>)[f]);
    if (!sameValue(o, n)) changed.push(f);
  }
  return changed;
}

function normalizeField(field: string, v: unknown): unknown {
  switch (field) {
    case 'lifecycleRules':
      return normalizeLifecycleRules(v as LifecycleRule[]);
    case 'corsRules':
      return normalizeCorsRules(v as CorsRule[]);
    case 'bucketInfo':
      return normalizeStringMap(v as Record<string, string>);
    case 'fileLockEnabled':
    case 'forceDestroy':
    case 'disposable':
      return v ?? false;
    case 'account':
      return v ?? 'primary';
    default:
      return v ?? null;
  }
}

type LiveBucket = NonNullable<Awaited<ReturnType<typeof findBucketById>>>;

/**
 * Live bucket → state. Fails closed when the key may not read a setting we manage: B2 then answers
 * `{isClientAuthorizedToRead: false, value: null}`, and treating that as "unset" would plan removing
 * encryption or lock (docs/architecture.md §3).
 */
export function bucketStateFromLive(
  live: LiveBucket,
  carry: Pick<
    BucketInputs,
    'forceDestroy' | 'account' | 'adoptBucketId' | 'owner' | 'acknowledgeIrreversible'
  > & { disposable?: boolean },
  s3Endpoint: string,
): BucketOutputs {
  const sse = live.defaultServerSideEncryption;
  const lock = live.fileLockConfiguration;
  const unreadable: string[] = [];
  if (!sse || sse.isClientAuthorizedToRead === false)
    unreadable.push('defaultServerSideEncryption (needs readBucketEncryption)');
  if (!lock || lock.isClientAuthorizedToRead === false)
    unreadable.push('fileLockConfiguration (needs readBucketRetentions)');
  if (unreadable.length) {
    throw new Error(
      `bucket ${live.bucketName} (${live.bucketId}): the B2 key in use may not read ${unreadable.join(' and ')}; ` +
        'refusing to report it as unset (that would plan a removal). Use a key with those capabilities.',
    );
  }
  const sseValue = sse!.value;
  const retention = lock!.value?.defaultRetention;
  const state: BucketOutputs = {
    bucketName: live.bucketName,
    bucketType: live.bucketType as BucketType,
    bucketInfo: normalizeStringMap(live.bucketInfo),
    corsRules: normalizeCorsRules(live.corsRules as CorsRule[]),
    lifecycleRules: normalizeLifecycleRules(live.lifecycleRules),
    defaultServerSideEncryption: sseValue?.mode === 'SSE-B2' ? { mode: 'SSE-B2', algorithm: 'AES256' } : null,
    fileLockEnabled: lock!.value?.isFileLockEnabled === true,
    defaultRetention:
      retention && (retention.mode === 'governance' || retention.mode === 'compliance') && retention.period
        ? {
            mode: retention.mode,
            period: { duration: retention.period.duration, unit: retention.period.unit },
          }
        : null,
    forceDestroy: carry.forceDestroy ?? false,
    disposable: carry.disposable ?? false,
    account: carry.account ?? 'primary',
    bucketId: live.bucketId,
    revision: live.revision,
    accountId: live.accountId,
    s3Endpoint,
  };
  if (carry.adoptBucketId) state.adoptBucketId = carry.adoptBucketId;
  if (carry.owner) state.owner = carry.owner;
  if (carry.acknowledgeIrreversible) state.acknowledgeIrreversible = true;
  return state;
}

const log = (line: string) => process.stderr.write(`[b2:Bucket] ${line}\n`);

/** The update request that brings `current` (live) to `desired`; null when nothing differs. */
export function bucketPatch(current: BucketOutputs, desired: BucketInputs): Record<string, unknown> | null {
  const req: Record<string, unknown> = {};
  if (current.bucketType !== desired.bucketType) req.bucketType = desired.bucketType;
  if (!sameValue(current.bucketInfo, desired.bucketInfo)) req.bucketInfo = desired.bucketInfo;
  if (!sameValue(current.corsRules, desired.corsRules)) req.corsRules = desired.corsRules;
  if (!sameValue(current.lifecycleRules, desired.lifecycleRules)) req.lifecycleRules = desired.lifecycleRules;
  if (!sameValue(current.defaultServerSideEncryption, desired.defaultServerSideEncryption)) {
    req.defaultServerSideEncryption = desired.defaultServerSideEncryption;
  }
  if (!desired.fileLockEnabled && current.fileLockEnabled) {
    throw new Error(
      `bucket ${desired.bucketName}: Object Lock is enabled in B2 and cannot be disabled; set fileLockEnabled: true`,
    );
  }
  if (desired.fileLockEnabled && !current.fileLockEnabled) req.fileLockEnabled = true;
  if (desired.fileLockEnabled && !sameValue(current.defaultRetention, desired.defaultRetention)) {
    req.defaultRetention = desired.defaultRetention ?? { mode: null, period: null };
  }
  return Object.keys(req).length ? req : null;
}

/**
 * Brings live bucket `bucketId` to `desired`, sending only what differs, with `ifRevisionIs`; on a
 * 409 revision conflict it re-reads and re-applies (updateBucketWithRetry).
 *
 * Unless `takeOver` (adoption by id), a bucket whose live marker names another stack is left alone:
 * it was taken over by that stack, and writing our marker back would steal it again.
 */
export async function applyBucketSettings(
  client: B2Client,
  bucketId: string,
  desired: BucketInputs,
  takeOver = false,
): Promise<BucketOutputs> {
  const s3 = await s3EndpointOf(client);
  const after = await updateBucketWithRetry(
    client,
    bucketId,
    `bucket ${desired.bucketName}`,
    (live) => {
      const liveOwner = ownerOf(live.bucketInfo);
      if (!takeOver && liveOwner && desired.owner && liveOwner.stack !== desired.owner.stack) {
        throw new BucketOwnedElsewhere(live.bucketName, live.bucketId, liveOwner, desired.owner, 'update');
      }
      return bucketPatch(bucketStateFromLive(live, desired, s3), desired);
    },
    log,
  );
  return bucketStateFromLive(after, desired, s3);
}

/**
 * A bucket that this stack/resource does not own: refused, naming the owner and the deliberate way
 * to take it over.
 */
export class BucketOwnedElsewhere extends Error {
  override readonly name = 'BucketOwnedElsewhere';
  constructor(
    readonly bucketName: string,
    readonly bucketId: string,
    readonly liveOwner: BucketOwner | null,
    readonly wanted: BucketOwner | undefined,
    readonly during: 'create' | 'update',
  ) {
    super(
      `BucketOwnedElsewhere: bucket "${bucketName}" (${bucketId}) already exists in this account and belongs to ` +
        `${describeOwner(liveOwner)}` +
        (wanted ? `, not to stack "${wanted.stack}", resource "${wanted.resource}"` : '') +
        '. Refusing to ' +
        (during === 'create' ? 'adopt' : 'change') +
        ' it. ' +
        (during === 'create'
          ? 'If it really should be managed here (and no longer by its owner), take it over deliberately: set ' +
            `adoptBucketId: "${bucketId}" on this resource (BackupBucket arg adoptBucketId), run \`pulumi up\` ` +
            '(the ownership marker is then rewritten to this stack), and remove it from the previous owner ' +
            '(`pulumi state delete <urn>` there). Otherwise pick another bucket name (stack config namePrefix/nameSuffix).'
          : 'It was taken over by that stack (adoptBucketId). Remove it from this stack without deleting it: ' +
            '`pulumi state delete <urn>`.'),
    );
  }
}

/** Thrown from create after the bucket exists, so the engine records the partial resource. */
class PartialCreateError extends Error {
  constructor(
    message: string,
    readonly id: string,
    readonly properties: Record<string, unknown>,
  ) {
    super(message);
  }
  get reasons(): string[] {
    return [this.message];
  }
}

/** b2_create_bucket with the marker already in bucketInfo; a global name clash is named. */
async function createNewBucket(client: B2Client, inputs: BucketInputs): Promise<string> {
  try {
    const created = await client.createBucket({
      bucketName: inputs.bucketName,
      bucketType: inputs.bucketType,
      bucketInfo: inputs.bucketInfo,
      corsRules: inputs.corsRules,
      lifecycleRules: inputs.lifecycleRules,
      fileLockEnabled: inputs.fileLockEnabled,
      defaultServerSideEncryption: inputs.defaultServerSideEncryption,
    } as Parameters<B2Client['createBucket']>[0]);
    return created.bucketId;
  } catch (e) {
    if (isDuplicateBucketName(e)) {
      // Cause attached by assignment: the program's TypeScript (Pulumi's ts-node) may lack
      // the ES2022 `Error(message, options)` signature.
      throw Object.assign(
        new Error(
          `bucket name "${inputs.bucketName}" is already used by another B2 account (names are global). ` +
            'Pick another name with the stack config namePrefix/nameSuffix.',
        ),
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * `provider` is the serialised `__provider` of the request, recorded with a partially created
 * bucket so that the engine can later refresh or delete it.
 */
async function createBucket(
  inputs: BucketInputs,
  provider: unknown,
): Promise<pulumi.dynamic.CreateResult<BucketOutputs>> {
  const client = clientFor(inputs.account);
  let bucketId: string;
  let takeOver = false;
  if (inputs.adoptBucketId) {
    const live = await findBucketById(client, inputs.adoptBucketId);
    if (!live)
      throw new Error(`adoptBucketId: no bucket ${inputs.adoptBucketId} in the ${inputs.account} account`);
    if (live.bucketName !== inputs.bucketName) {
      throw new Error(
        `adoptBucketId: bucket ${inputs.adoptBucketId} is named "${live.bucketName}", not "${inputs.bucketName}"; set bucketName to match`,
      );
    }
    bucketId = live.bucketId;
    takeOver = true;
    const previous = ownerOf(live.bucketInfo);
    log(
      `adopting bucket ${live.bucketName} (${bucketId}) by id; previous owner: ${describeOwner(previous)}; ` +
        'its ownership marker now names this stack',
    );
  } else {
    const existing = await findBucketByName(client, inputs.bucketName);
    if (existing) {
      // Same name in OUR account. Adopted only when its marker names this stack and resource: then
      // a previous create of this very resource succeeded but was not recorded (crash, lost
      // connection). Anything else belongs to someone else, or to nobody we can prove.
      const liveOwner = ownerOf(existing.bucketInfo);
      if (!inputs.owner || !sameOwner(liveOwner, inputs.owner)) {
        throw new BucketOwnedElsewhere(
          existing.bucketName,
          existing.bucketId,
          liveOwner,
          inputs.owner,
          'create',
        );
      }
      bucketId = existing.bucketId;
      log(
        `bucket ${inputs.bucketName} already exists in this account (${bucketId}) with this resource's ownership ` +
          'marker; adopting it (an earlier create of this resource was not recorded)',
      );
    } else {
      bucketId = await createNewBucket(client, inputs);
    }
  }
  try {
    const outs = await applyBucketSettings(client, bucketId, inputs, takeOver);
    return { id: bucketId, outs };
  } catch (e) {
    throw new PartialCreateError(
      `bucket ${inputs.bucketName} (${bucketId}) exists but applying its settings failed: ${describeError(e)}`,
      bucketId,
      { ...inputs, bucketId, __provider: provider },
    );
  }
}

/** The real provider (loaded at run time through the thin loader). */
export const bucketProvider: pulumi.dynamic.ResourceProvider = {
  async configure(req) {
    configureFromStack(req.config);
  },

  async check(olds, news) {
    const failures = checkBucket(olds, news);
    if (failures.length) return { inputs: news, failures };
    const inputs = normalizeBucketInputs(news);
    delete inputs.irreversible;
    if (olds?.bucketName && olds.fileLockEnabled !== true && inputs.fileLockEnabled) {
      // Acknowledged (check refuses it otherwise); recorded in the inputs so the plan shows it.
      inputs.irreversible = 'enables Object Lock: irreversible, B2 can never disable it (acknowledged)';
    }
    return { inputs };
  },

  async diff(_id, olds: BucketOutputs, news: BucketInputs) {
    const desired = normalizeBucketInputs(news as BucketInputs & Record<string, unknown>);
    const changed = changedBucketFields(olds, desired);
    const replaces = changed.filter((f) => (BUCKET_REPLACES as readonly string[]).includes(f));
    return { changes: changed.length > 0, replaces, deleteBeforeReplace: false };
  },

  async create(inputs: BucketInputs) {
    const raw = inputs as BucketInputs & Record<string, unknown>;
    return createBucket(normalizeBucketInputs(raw), raw.__provider);
  },

  async read(id, props?: Partial<BucketOutputs>) {
    const carry = {
      forceDestroy: props?.forceDestroy ?? false,
      disposable: props?.disposable ?? false,
      account: props?.account ?? 'primary',
      adoptBucketId: props?.adoptBucketId,
      owner: props?.owner,
      acknowledgeIrreversible: props?.acknowledgeIrreversible,
    };
    const client = clientFor(carry.account);
    const live = await findBucketById(client, id);
    if (!live) return { id: '', props: {} };
    const state = bucketStateFromLive(live, carry, await s3EndpointOf(client));
    if (state.fileLockEnabled && props?.fileLockEnabled === false) {
      log(
        `warning: bucket ${live.bucketName} (${id}) has Object Lock enabled in B2 but not in the state; ` +
          'B2 can never disable it: declare objectLock.enabled (with acknowledgeIrreversible) in the stack config',
      );
      // Recorded in the inputs too (the last applied ones, from the state, with the lock): the next
      // preview's check then compares against a locked bucket and refuses a config without the
      // lock, naming it — at preview, not at apply.
      const {
        bucketId: _i,
        revision: _r,
        accountId: _a,
        s3Endpoint: _s,
        ...lastInputs
      } = props as BucketOutputs;
      return { id, props: state, inputs: { ...lastInputs, fileLockEnabled: true } };
    }
    return { id, props: state };
  },

  async update(id, _olds: BucketOutputs, news: BucketInputs) {
    const desired = normalizeBucketInputs(news as BucketInputs & Record<string, unknown>);
    return { outs: await applyBucketSettings(clientFor(desired.account), id, desired) };
  },

  async delete(id, props: BucketOutputs) {
    const client = clientFor(props.account ?? 'primary');
    const live = await findBucketById(client, id);
    if (!live) return; // already gone
    const liveOwner = ownerOf(live.bucketInfo);
    if (liveOwner && (!props.owner || liveOwner.stack !== props.owner.stack)) {
      // Taken over by another stack (adoptBucketId there): it is no longer ours to delete.
      log(
        `bucket ${live.bucketName} (${id}) now belongs to ${describeOwner(liveOwner)}; not deleting it, ` +
          'only removing it from this stack',
      );
      return;
    }
    if (props.forceDestroy) {
      // Governance retention is bypassed only on an explicitly disposable stack: force-destroy alone
      // must not erase what Object Lock protects (a locked version then fails the delete, as it should).
      const locked = live.fileLockConfiguration?.value?.isFileLockEnabled === true;
      try {
        await deleteAllVersions(client, id, props.disposable === true && locked, (done) =>
          log(`forceDestroy ${live.bucketName}: deleted ${done} file versions so far`),
        );
      } catch (e) {
        if (!locked || props.disposable === true) throw e;
        // (`cause` set by assignment: the program's on-the-fly TypeScript compile targets a lib without
        // the ErrorOptions constructor.)
        throw Object.assign(
          new Error(
            `bucket ${live.bucketName} (${id}): forceDestroy stopped at a file version under Object Lock retention ` +
              `(${describeError(e)}). Governance retention is bypassed only on a stack marked ` +
              '`infrafabric-backup:disposable: true`; wait for the retention to expire, or remove it deliberately ' +
              '(b2 file update --legal-hold/--file-retention with a bypassGovernance key).',
          ),
          { cause: e },
        );
      }
    } else {
      const { count, capped } = await countVersions(client, id);
      if (count > 0) {
        throw new Error(
          `bucket ${live.bucketName} (${id}) still holds ${capped ? 'more than ' : ''}${count} file version(s) ` +
            '(uploads, hide markers or unfinished large files). Refusing to delete it. Either empty it first ' +
            `(e.g. \`b2 rm --versions --recursive b2://${live.bucketName}\`), or set forceDestroy: true ` +
            '(stack config forceDestroy), run `pulumi up` to record it, then destroy again.',
        );
      }
    }
    await client.deleteBucket(id);
  },
};

/** A B2 bucket. Output-only properties are declared `undefined` in the props so the engine tracks them. */
export class Bucket extends pulumi.dynamic.Resource {
  declare readonly bucketName: pulumi.Output<string>;
  declare readonly bucketType: pulumi.Output<BucketType>;
  declare readonly bucketInfo: pulumi.Output<Record<string, string>>;
  declare readonly lifecycleRules: pulumi.Output<LifecycleRule[]>;
  declare readonly corsRules: pulumi.Output<CorsRule[]>;
  declare readonly defaultServerSideEncryption: pulumi.Output<DefaultServerSideEncryption | null>;
  declare readonly fileLockEnabled: pulumi.Output<boolean>;
  declare readonly defaultRetention: pulumi.Output<DefaultRetention | null>;
  declare readonly forceDestroy: pulumi.Output<boolean>;
  declare readonly disposable: pulumi.Output<boolean>;
  declare readonly account: pulumi.Output<AccountRole>;
  declare readonly owner: pulumi.Output<BucketOwner>;
  declare readonly bucketId: pulumi.Output<string>;
  declare readonly revision: pulumi.Output<number>;
  declare readonly accountId: pulumi.Output<string>;
  declare readonly s3Endpoint: pulumi.Output<string>;

  constructor(name: string, args: BucketArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      thinLoader('bucket', 'bucketProvider'),
      name,
      {
        ...args,
        owner: args.owner ?? { stack: stackIdentity(pulumi.getProject(), pulumi.getStack()), resource: name },
        bucketId: undefined,
        revision: undefined,
        accountId: undefined,
        s3Endpoint: undefined,
      },
      opts,
      'b2',
      'Bucket',
    );
  }
}
