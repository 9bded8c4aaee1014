/**
 * scripts/estate/summary.ts: engine events → the pipeline's report, gate and markdown, without an
 * engine (the e2e tests drive the same code with real events).
 */
import type { EngineEvent } from '@pulumi/pulumi/automation';
import {
  changedProperties,
  disposableInStackFile,
  driftFromEvents,
  gateReasons,
  renderMarkdown,
  reportFromEvents,
  shortType,
} from '../../../scripts/estate/summary';

const BUCKET = 'pulumi-nodejs:dynamic/b2:Bucket';
const KEY = 'pulumi-nodejs:dynamic/b2:ApplicationKey';
const urn = (type: string, name: string) => `urn:pulumi:prod::infrafabric-backup::x$${type}::${name}`;

function pre(op: string, type: string, name: string): EngineEvent {
  return {
    sequence: 0,
    timestamp: 0,
    resourcePreEvent: { metadata: { op, urn: urn(type, name), type } },
  } as never;
}
function policy(level: string, name: string, message: string, on?: string): EngineEvent {
  return {
    sequence: 0,
    timestamp: 0,
    policyEvent: {
      resourceUrn: on,
      message,
      color: 'never',
      policyName: name,
      policyPackName: 'infrafabric-backup-guardrails',
      policyPackVersion: '1.0.0',
      policyPackVersionTag: 'v1.0.0',
      enforcementLevel: level,
    },
  } as never;
}

describe('estate summary', () => {
  it('counts changes per short type, ignoring same and the parts of a replacement', () => {
    const r = reportFromEvents('prod', 'preview', [
      pre('same', BUCKET, 'a'),
      pre('update', BUCKET, 'b'),
      pre('replace', KEY, 'k1'),
      pre('create-replacement', KEY, 'k1'),
      pre('delete-replaced', KEY, 'k1'),
      pre('create', KEY, 'k2'),
      pre('create', KEY, 'k2'), // duplicate event
    ]);
    expect(r.changes).toEqual({ 'b2:Bucket': { update: 1 }, 'b2:ApplicationKey': { replace: 1, create: 1 } });
    expect(r.replacements.map((c) => c.name)).toEqual(['k1']);
    expect(r.deletions).toEqual([]);
    expect(gateReasons(r, { allowBucketReplace: false })).toEqual([]);
    expect(shortType('aws:s3/bucket:Bucket')).toBe('aws:s3/bucket:Bucket');
  });

  it('a bucket delete or replace fails the gate unless allowed; a key replace does not', () => {
    const r = reportFromEvents('prod', 'preview', [
      pre('delete', BUCKET, 'old'),
      pre('replace', BUCKET, 'renamed'),
    ]);
    expect(gateReasons(r, { allowBucketReplace: false })).toEqual([
      'prod: bucket renamed would be replaced (add the label allow-bucket-replace to allow it)',
      'prod: bucket old would be deleted (add the label allow-bucket-replace to allow it)',
    ]);
    expect(gateReasons(r, { allowBucketReplace: true })).toEqual([]);
    const md = renderMarkdown([r], { allowBucketReplace: false });
    expect(md).toContain('⚠️ **BUCKET** delete `old`');
    expect(md).toContain('⚠️ **BUCKET** replace `renamed`');
    expect(md).toContain('### preview `prod` ❌');
  });

  it('a disposable stack fails the PR gate, whatever the plan, unless allowed', () => {
    // A PR adding `disposable: true` to Pulumi.prod.yaml unprotects every prod bucket; the plan
    // shows only ordinary bucket updates (measured with the pinned engine: "2 to update").
    const yaml = (v: string) =>
      `encryptionsalt: v1:abc\nconfig:\n  infrafabric-backup:env: prod\n  infrafabric-backup:disposable: ${v}\n`;
    expect(disposableInStackFile(yaml('true'))).toBe(true);
    expect(disposableInStackFile(yaml('"true"'))).toBe(true);
    expect(disposableInStackFile(yaml('false'))).toBe(false);
    expect(disposableInStackFile('config:\n  infrafabric-backup:env: prod\n')).toBe(false);
    expect(disposableInStackFile('config: [unclosed')).toBe(false);
    const r = { ...reportFromEvents('prod', 'preview', [pre('same', BUCKET, 'a')]), disposable: true };
    expect(gateReasons(r, { allowBucketReplace: false })).toEqual([
      'prod: the stack is disposable (infrafabric-backup:disposable: true): its buckets are unprotected and forceDestroy may empty them (remove it, or add the label allow-bucket-replace to allow it)',
    ]);
    expect(gateReasons(r, { allowBucketReplace: true })).toEqual([]);
    const md = renderMarkdown([r], { allowBucketReplace: true });
    expect(md).toContain('### preview `prod` ✅');
    expect(md).toContain('⚠️ **DISPOSABLE** stack');
  });

  it('mandatory violations fail, advisory ones are listed only; table cells are escaped', () => {
    const r = reportFromEvents('staging', 'preview', [
      policy(
        'mandatory',
        'b2-bucket-private',
        'bucket x is "allPublic" | bad\nsecond line',
        urn(BUCKET, 'x'),
      ),
      policy('advisory', 'b2-prod-replication', 'not replicated'),
    ]);
    expect(gateReasons(r, { allowBucketReplace: true })).toEqual([
      'staging: mandatory policy b2-bucket-private violated by x',
    ]);
    const md = renderMarkdown([r], { allowBucketReplace: true });
    expect(md).toContain(
      '| mandatory | `b2-bucket-private` | `x` | bucket x is "allPublic" \\| bad second line |',
    );
    expect(md).toContain('| advisory | `b2-prod-replication` | stack | not replicated |');
  });

  it('an unchanged stack: empty change summary, passes', () => {
    const r = reportFromEvents('dev', 'preview', [pre('same', BUCKET, 'a')]);
    expect(renderMarkdown([r], { allowBucketReplace: false })).toBe(
      '### preview `dev` ✅\n\nNo changes.\n\n',
    );
  });

  it('drift: properties that differ (the provider code excluded) and resources deleted outside Pulumi', () => {
    expect(
      changedProperties({ a: 1, b: [1], __provider: 'x' }, { a: 1, b: [2], c: 3, __provider: 'y' }),
    ).toEqual(['b', 'c']);
    const out = (op: string, type: string, name: string, olds: object, news: object) =>
      ({
        sequence: 0,
        timestamp: 0,
        resOutputsEvent: {
          metadata: { op, urn: urn(type, name), type, old: { outputs: olds }, new: { outputs: news } },
        },
      }) as never as EngineEvent;
    const r = driftFromEvents('prod', [
      out('same', BUCKET, 'same', {}, {}),
      out(
        'update',
        BUCKET,
        'b',
        { lifecycleRules: [1], bucketInfo: {} },
        { lifecycleRules: [], bucketInfo: {} },
      ),
      out('delete', KEY, 'k', {}, {}),
    ]);
    expect(gateReasons(r, { allowBucketReplace: true })).toEqual([
      'prod: b (b2:Bucket) drifted: lifecycleRules',
      'prod: k (b2:ApplicationKey) drifted: deleted outside Pulumi',
    ]);
    expect(renderMarkdown([r], { allowBucketReplace: true })).toContain(
      '| `b` | `b2:Bucket` | `lifecycleRules` |',
    );
    expect(renderMarkdown([driftFromEvents('dev', [])], { allowBucketReplace: true })).toContain('No drift.');
  });
});

describe('openEstateStack preconditions (named errors before the engine starts)', () => {
  const { openEstateStack } =
    require('../../../scripts/estate/engine') as typeof import('../../../scripts/estate/engine');
  const fs = require('fs') as typeof import('fs');
  const os = require('os') as typeof import('os');
  const path = require('path') as typeof import('path');
  const env = { PULUMI_BACKEND_URL: 'file:///nowhere', PULUMI_CONFIG_PASSPHRASE: 'x' };

  it('names the missing backend, passphrase, stack file and salt', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'estate-pre-'));
    try {
      await expect(openEstateStack({ stack: 'dev', configDir: dir, env: {} })).rejects.toThrow(
        'PULUMI_BACKEND_URL is not set',
      );
      await expect(
        openEstateStack({ stack: 'dev', configDir: dir, env: { PULUMI_BACKEND_URL: 'file:///x' } }),
      ).rejects.toThrow('neither PULUMI_CONFIG_PASSPHRASE nor PULUMI_CONFIG_PASSPHRASE_FILE is set');
      await expect(openEstateStack({ stack: 'dev', configDir: dir, env })).rejects.toThrow(
        'Pulumi.dev.yaml does not exist: create the environment with npm run bootstrap -- --env dev',
      );
      fs.writeFileSync(path.join(dir, 'Pulumi.dev.yaml'), 'config:\n  infrafabric-backup:env: dev\n');
      await expect(openEstateStack({ stack: 'dev', configDir: dir, env })).rejects.toThrow(
        'has no encryptionsalt, so a fresh checkout cannot decrypt',
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
