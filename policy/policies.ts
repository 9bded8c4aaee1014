/**
 * The pack's policies: names, descriptions and the glue from @pulumi/policy's validation
 * arguments to the rule functions in rules.ts. Built per stack (the facts decide which rules
 * bite); the enforcement level is the pack's (policy/index.ts).
 */
import type { Policies, ReportViolation, ResourceValidationArgs, StackValidationArgs } from '@pulumi/policy';
import {
  JOB_KEY_PURPOSES,
  REPLICATION_KEY_PURPOSES,
  StackFacts,
  StackResource,
  checkBackupPrefixLifecycle,
  checkBucketEncryption,
  checkBucketPrivate,
  checkJobKey,
  checkNoForceDestroy,
  checkProtected,
  checkReplicationInProd,
  checkReplicationKey,
  keyPurpose,
  resourceKind,
} from './rules';

/** Policy names, as the engine prints them next to each violation. */
export const POLICY_NAMES = [
  'b2-bucket-private',
  'b2-bucket-default-encryption',
  'b2-backup-prefix-lifecycle',
  'b2-job-key-least-privilege',
  'b2-replication-key-scoped',
  'b2-prod-no-force-destroy',
  'b2-prod-bucket-protected',
  'b2-prod-replication',
] as const;

type Check = (args: ResourceValidationArgs) => string[];

/**
 * The inputs a rule reads, with values the engine cannot know yet (during a preview) left
 * undefined. @pulumi/policy's props throw when an unknown value is read, which would turn the whole
 * policy into a "can't run during preview" notice; the rules treat undefined as "not judged yet".
 */
export function knownProps(props: Record<string, unknown>, keys: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    try {
      const v = props[k];
      // Touch nested values too (arrays/objects of unknowns throw on access).
      out[k] = v === undefined ? undefined : (JSON.parse(JSON.stringify(v)) as unknown);
    } catch {
      out[k] = undefined;
    }
  }
  return out;
}

const BUCKET_KEYS = [
  'bucketName',
  'bucketType',
  'defaultServerSideEncryption',
  'lifecycleRules',
  'forceDestroy',
  'account',
  'bucketId',
  'capabilities',
  'keyName',
] as const;
const KEY_KEYS = ['keyName', 'capabilities', 'bucketIds', 'namePrefix'] as const;
const REPLICATION_KEYS = ['sourceBucketId', 'destinationBucketId', 'ruleName'] as const;

function report(messages: string[], reportViolation: ReportViolation, urn?: string): void {
  for (const m of messages) reportViolation(m, urn);
}

/** The resource's kind from its type, else from which inputs it has (names only: always known). */
function kindOf(type: string, props: Record<string, unknown>) {
  const present = Object.fromEntries(Object.keys(props).map((k) => [k, true]));
  return resourceKind(type, present);
}

function onBuckets(check: Check) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (kindOf(args.type, args.props) === 'bucket')
      report(check({ ...args, props: knownProps(args.props, BUCKET_KEYS) }), reportViolation);
  };
}

function onKeys(
  purposes: readonly string[],
  check: (args: ResourceValidationArgs, purpose: string) => string[],
) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (kindOf(args.type, args.props) !== 'key') return;
    const props = knownProps(args.props, KEY_KEYS);
    const purpose = keyPurpose(props.keyName, args.urn);
    if (purpose && purposes.includes(purpose)) report(check({ ...args, props }, purpose), reportViolation);
  };
}

export function buildPolicies(facts: StackFacts): Policies {
  return [
    {
      name: 'b2-bucket-private',
      description: 'Backup buckets are allPrivate.',
      validateResource: onBuckets((a) => checkBucketPrivate(a.props)),
    },
    {
      name: 'b2-bucket-default-encryption',
      description: 'Backup buckets encrypt by default with SSE-B2.',
      validateResource: onBuckets((a) => checkBucketEncryption(a.props)),
    },
    {
      name: 'b2-backup-prefix-lifecycle',
      description: 'Every backup prefix (configs/, terraform-state/, audit-logs/, db/) has a lifecycle rule.',
      validateResource: onBuckets((a) => checkBackupPrefixLifecycle(a.props)),
    },
    {
      name: 'b2-job-key-least-privilege',
      description:
        'Backup-writer and restore-reader keys are scoped to one bucket (and to the stack keyNamePrefix when set) and hold no deleteFiles, writeKeys, deleteKeys or bypassGovernance.',
      configSchema: {
        properties: {
          requireNamePrefix: { type: 'boolean', default: false },
        },
      },
      validateResource: (args, reportViolation) => {
        const cfg = args.getConfig<{ requireNamePrefix?: boolean }>();
        onKeys(JOB_KEY_PURPOSES, (a, purpose) =>
          checkJobKey(a.props, purpose, facts, cfg.requireNamePrefix === true),
        )(args, reportViolation);
      },
    },
    {
      name: 'b2-replication-key-scoped',
      description: 'Replication keys are scoped to one bucket and hold no key-management capability.',
      validateResource: onKeys(REPLICATION_KEY_PURPOSES, (a, purpose) =>
        checkReplicationKey(a.props, purpose),
      ),
    },
    {
      name: 'b2-prod-no-force-destroy',
      description: 'No forceDestroy on prod buckets unless the stack is disposable.',
      validateResource: onBuckets((a) => checkNoForceDestroy(a.props, facts)),
    },
    {
      name: 'b2-prod-bucket-protected',
      description: 'Prod buckets are declared with protect: true unless the stack is disposable.',
      validateResource: onBuckets((a) => checkProtected(a.props, a.opts.protect, facts)),
    },
    {
      name: 'b2-prod-replication',
      description: 'In prod, replication is on and every bucket of the primary account is replicated.',
      validateStack: (args: StackValidationArgs, reportViolation: ReportViolation) => {
        const resources: StackResource[] = [];
        for (const r of args.resources) {
          const kind = kindOf(r.type, r.props);
          if (kind)
            resources.push({
              kind,
              props: knownProps(r.props, kind === 'replication' ? REPLICATION_KEYS : BUCKET_KEYS),
              name: r.name,
            });
        }
        report(checkReplicationInProd(resources, facts), reportViolation);
      },
    },
  ];
}
