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

function report(messages: string[], reportViolation: ReportViolation, urn?: string): void {
  for (const m of messages) reportViolation(m, urn);
}

function onBuckets(check: Check) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (resourceKind(args.type, args.props) === 'bucket') report(check(args), reportViolation);
  };
}

function onKeys(
  purposes: readonly string[],
  check: (args: ResourceValidationArgs, purpose: string) => string[],
) {
  return (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
    if (resourceKind(args.type, args.props) !== 'key') return;
    const purpose = keyPurpose(args.props.keyName, args.urn);
    if (purpose && purposes.includes(purpose)) report(check(args, purpose), reportViolation);
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
          const kind = resourceKind(r.type, r.props);
          if (kind) resources.push({ kind, props: r.props, name: r.name });
        }
        report(checkReplicationInProd(resources, facts), reportViolation);
      },
    },
  ];
}
