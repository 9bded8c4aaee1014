/**
 * The estate's policy pack, `infrafabric-backup-guardrails` (README "Policy pack").
 *
 * Started by the engine for `--policy-pack policy` through the repository's language host
 * (tools/lib/pulumi-language-nodejs.js, RunPlugin kind `analyzer`), which hands the pack the
 * stack's non-secret config before it loads. Enforcement follows the stack's environment:
 * prod and staging mandatory (the preview/up fails), dev advisory (warnings); `local` is
 * `env: prod` and runs at the prod level. `--policy-pack-config` can still override a policy.
 */
import { EnforcementLevel, PolicyPack } from '@pulumi/policy';
import { buildPolicies } from './policies';
import { levelFor, stackFactsFrom } from './rules';

function configFromEnv(): Record<string, string> {
  try {
    return JSON.parse(process.env.PULUMI_CONFIG ?? '{}') as Record<string, string>;
  } catch {
    return {};
  }
}

const facts = stackFactsFrom(configFromEnv(), process.env.PULUMI_NODEJS_STACK ?? '');
const level: EnforcementLevel = levelFor(facts);

new PolicyPack('infrafabric-backup-guardrails', {
  enforcementLevel: level,
  policies: buildPolicies(facts),
});
