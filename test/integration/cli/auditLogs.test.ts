/**
 * audit-logs against the emulator: incremental uploads, and idempotence after a crash both before
 * the uploads finished (pending intent) and after them but before the state was committed.
 * Also prune --report over the bucket's lifecycle rules.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { gunzipSync } from 'zlib';
import { parseSegmentKey } from '../../../scripts/jobs/auditLogs';
import { cli, Estate, getObjectBytes, listVersionsJson, setLifecycleRules, startEstate } from './fixture';

let estate: Estate;
let tmp: string;
let logs: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-audit-'));
  logs = path.join(tmp, 'audit');
  fs.mkdirSync(path.join(logs, 'k8s'), { recursive: true });
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function clearFaults(): Promise<void> {
  await fetch(`${estate.emu.url}/__admin/faults`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${estate.emu.info.adminToken}` },
  });
}

function lines(tag: string, n: number): string {
  return (
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        ts: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z`,
        tag,
        i,
        actor: 'svc-backup',
      }),
    ).join('\n') + '\n'
  );
}

/** Concatenation of every stored segment of `rel`, in offset order; fails on gaps or overlaps. */
async function storedContent(rel: string): Promise<string> {
  const segs = (await listVersionsJson(estate, 'audit-logs/'))
    .filter((v) => !v.hideMarker)
    .map((v) => ({ v, m: parseSegmentKey(v.key) }))
    .filter((x) => x.m && x.m.rel === rel)
    .sort((a, b) => a.m!.start - b.m!.start);
  let expectedStart = 0;
  let out = '';
  for (const { v, m } of segs) {
    expect(m!.name).toBe('audit'); // the source's name (its directory's) is part of every key
    expect(m!.start).toBe(expectedStart); // no gap, no overlap
    out += gunzipSync(await getObjectBytes(estate, v.key, v.versionId)).toString('utf8');
    expectedStart = m!.end;
  }
  return out;
}

describe('audit-logs', () => {
  it('uploads new files, then only what grew', async () => {
    fs.writeFileSync(path.join(logs, 'api.log'), lines('api', 500));
    fs.writeFileSync(path.join(logs, 'k8s', 'audit.log'), lines('k8s', 200));
    const r1 = await cli(estate, ['audit-logs', '--dir', logs, '--json']);
    expect(r1.code).toBe(0);
    expect(r1.json()).toMatchObject({ uploaded: 2, adoptedAfterCrash: 0 });

    const r2 = await cli(estate, ['audit-logs', '--dir', logs, '--json']);
    expect(r2.json()).toMatchObject({ uploaded: 0 });

    fs.appendFileSync(path.join(logs, 'api.log'), lines('api-more', 100));
    const r3 = await cli(estate, ['audit-logs', '--dir', logs, '--json']);
    expect(r3.json()).toMatchObject({ uploaded: 1 });
    expect(await storedContent('api.log')).toBe(fs.readFileSync(path.join(logs, 'api.log'), 'utf8'));
    expect(await storedContent('k8s/audit.log')).toBe(
      fs.readFileSync(path.join(logs, 'k8s', 'audit.log'), 'utf8'),
    );

    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const { sdkClient } = await import('./fixture');
    const seg = (await listVersionsJson(estate, 'audit-logs/'))[0];
    const head = await sdkClient(estate).send(new HeadObjectCommand({ Bucket: estate.bucket, Key: seg.key }));
    expect(head.Metadata).toMatchObject({
      type: 'audit-log',
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      'source-sha256': expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('finishes a crashed run exactly once, even if the file grew meanwhile', async () => {
    fs.appendFileSync(path.join(logs, 'k8s', 'audit.log'), lines('k8s-2', 50));
    // Uploads refused: the run records its intent (pending) and fails.
    await estate.emu.admin('POST', '/__admin/faults', {
      operation: 's3:PutObject',
      path: `^/${estate.bucket}/audit-logs/`,
      status: 403,
      code: 'AccessDenied',
      message: 'injected',
    });
    const crashed = await cli(estate, ['audit-logs', '--dir', logs, '--json']);
    await clearFaults();
    expect(crashed.code).toBe(1);
    const state = JSON.parse(
      (await getObjectBytes(estate, 'state/audit-logs/audit.json')).toString('utf8'),
    ) as { pending: unknown[] };
    expect(state.pending).toHaveLength(1);

    fs.appendFileSync(path.join(logs, 'k8s', 'audit.log'), lines('k8s-3', 30));
    const r = await cli(estate, ['audit-logs', '--dir', logs, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ uploaded: 2 });
    expect(await storedContent('k8s/audit.log')).toBe(
      fs.readFileSync(path.join(logs, 'k8s', 'audit.log'), 'utf8'),
    );
  });

  it('adopts segments uploaded by a run that died before committing its state', async () => {
    const stateFile = path.join(tmp, 'local-state.json');
    fs.writeFileSync(path.join(logs, 'late.log'), lines('late', 40));
    const first = await cli(estate, [
      'audit-logs',
      '--dir',
      logs,
      '--state-file',
      stateFile,
      '--name',
      'local',
      '--json',
    ]);
    expect(first.code).toBe(0);
    const before = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as {
      files: Record<string, { size: number }>;
    };

    fs.appendFileSync(path.join(logs, 'late.log'), lines('late-2', 10));
    const second = await cli(estate, [
      'audit-logs',
      '--dir',
      logs,
      '--state-file',
      stateFile,
      '--name',
      'local',
      '--json',
    ]);
    expect(second.json()).toMatchObject({ uploaded: 1 });
    const after = JSON.parse(fs.readFileSync(stateFile, 'utf8')) as {
      files: Record<string, unknown>;
      pending: unknown[];
    };
    const seg = (await listVersionsJson(estate, 'audit-logs/')).find((v) =>
      v.key.includes(`/late.log@${before.files['late.log'].size}-`),
    )!;
    const { HeadObjectCommand } = await import('@aws-sdk/client-s3');
    const { sdkClient } = await import('./fixture');
    const head = await sdkClient(estate).send(new HeadObjectCommand({ Bucket: estate.bucket, Key: seg.key }));
    const [, start, end] = /@(\d+)-(\d+)\.gz$/.exec(seg.key)!;
    // Rewind the state to "intent written, uploads done, commit lost".
    fs.writeFileSync(
      stateFile,
      JSON.stringify({
        version: 1,
        files: before.files,
        pending: [
          {
            rel: 'late.log',
            start: Number(start),
            end: Number(end),
            generation: 0,
            key: seg.key,
            sourceSha256: head.Metadata!['source-sha256'],
            after: after.files['late.log'],
          },
        ],
      }),
    );
    const versionsBefore = (await listVersionsJson(estate, 'audit-logs/')).length;
    const third = await cli(estate, [
      'audit-logs',
      '--dir',
      logs,
      '--state-file',
      stateFile,
      '--name',
      'local',
      '--json',
    ]);
    expect(third.code).toBe(0);
    expect(third.json()).toMatchObject({ uploaded: 0, adoptedAfterCrash: 1 });
    expect((await listVersionsJson(estate, 'audit-logs/')).length).toBe(versionsBefore);
    expect((JSON.parse(fs.readFileSync(stateFile, 'utf8')) as { pending: unknown[] }).pending).toEqual([]);
  });

  it('rejects a missing directory with exit 2', async () => {
    const r = await cli(estate, ['audit-logs', '--dir', path.join(tmp, 'nope')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--dir .*not a directory/);
  });
});

describe('prune --report', () => {
  it('reports when lifecycle will hide and delete, from the rules read over S3', async () => {
    await setLifecycleRules(estate, [
      {
        fileNamePrefix: 'audit-logs/',
        daysFromUploadingToHiding: 30,
        daysFromHidingToDeleting: 150,
        daysFromStartingToCancelingUnfinishedLargeFiles: 7,
      },
      {
        fileNamePrefix: 'state/',
        daysFromUploadingToHiding: null,
        daysFromHidingToDeleting: 10,
        daysFromStartingToCancelingUnfinishedLargeFiles: 7,
      },
    ]);
    const r = await cli(estate, ['prune', '--report', '--json']);
    expect(r.code).toBe(0);
    const d = r.json<{ rulesSource: string; actions: { key: string; action: string; inDays: number }[] }>();
    expect(d.rulesSource).toBe('GetBucketLifecycleConfiguration');
    const segHide = d.actions.find((a) => a.key.startsWith('audit-logs/') && a.action === 'hide')!;
    expect(segHide.inDays).toBeGreaterThan(29);
    expect(segHide.inDays).toBeLessThanOrEqual(30);
    expect(
      d.actions.some(
        (a) => a.key.startsWith('audit-logs/') && a.action === 'delete' && a.inDays > 179 && a.inDays <= 180,
      ),
    ).toBe(true);
    // the state object was rewritten several times: superseded versions go 10 days after
    const stateDeletes = d.actions.filter(
      (a) => a.key === 'state/audit-logs/audit.json' && a.action === 'delete',
    );
    expect(stateDeletes.length).toBeGreaterThan(1);
    expect(d.actions.some((a) => a.key.startsWith('manifests/'))).toBe(false);

    const soon = await cli(estate, ['prune', '--report', '--json', '--within', '15d']);
    expect(soon.json<{ actions: { action: string }[] }>().actions.every((a) => a.action === 'delete')).toBe(
      true,
    );
  });
});
