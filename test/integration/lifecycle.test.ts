/**
 * Lifecycle rules executed by the emulator on its own clock (docs/b2-api.md §5): the test advances the
 * admin clock and runs `POST /__admin/lifecycle/run`, then observes files hidden, hidden versions
 * deleted, orphaned hide markers removed and unfinished large files cancelled — over the native
 * API and over S3 (rules set with PutBucketLifecycleConfiguration).
 */
import { createHash } from 'crypto';
import { S3Env, s3raw, startS3Env } from '../conformance/wire/s3helpers';

const DAY = 86_400;
let env: S3Env;

beforeAll(async () => {
  // Timer off: every run in this file is an explicit admin call, so results are deterministic.
  env = await startS3Env({ env: { B2_LOCAL_LIFECYCLE_TICK_MS: '0' } });
});
afterAll(async () => {
  await env?.stop();
});

async function advanceDays(days: number): Promise<void> {
  await env.emu.admin('POST', '/__admin/clock', { advanceSeconds: days * DAY });
}
async function runLifecycle(): Promise<{ hidden: number; deleted: number; canceled: number }> {
  const r = (await env.emu.admin('POST', '/__admin/lifecycle/run')) as {
    result: { hidden: number; deleted: number; canceled: number };
  };
  return r.result;
}

async function upload(bucketId: string, name: string, body: string): Promise<string> {
  const up = (await env.native('b2_get_upload_url', { bucketId })) as {
    uploadUrl: string;
    authorizationToken: string;
  };
  const res = await fetch(up.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: up.authorizationToken,
      'x-bz-file-name': encodeURIComponent(name),
      'content-type': 'text/plain',
      'x-bz-content-sha1': createHash('sha1').update(body).digest('hex'),
    },
    body,
  });
  if (!res.ok) throw new Error(`upload ${name}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { fileId: string }).fileId;
}

async function versions(
  bucketId: string,
  prefix: string,
): Promise<Array<{ fileName: string; action: string }>> {
  const r = (await env.native('b2_list_file_versions', { bucketId, prefix, maxFileCount: 1000 })) as {
    files: Array<{ fileName: string; action: string }>;
  };
  return r.files.map((f) => ({ fileName: f.fileName, action: f.action }));
}

it('native rules: hide after N days, delete N days after hidden, cancel unfinished large files', async () => {
  const b = (await env.native('b2_create_bucket', {
    accountId: env.accountId,
    bucketName: 'lifecycle-native',
    bucketType: 'allPrivate',
    lifecycleRules: [
      {
        fileNamePrefix: 'logs/',
        daysFromUploadingToHiding: 30,
        daysFromHidingToDeleting: 10,
        daysFromStartingToCancelingUnfinishedLargeFiles: null,
      },
      {
        fileNamePrefix: 'db/',
        daysFromUploadingToHiding: null,
        daysFromHidingToDeleting: 1,
        daysFromStartingToCancelingUnfinishedLargeFiles: 7,
      },
    ],
  })) as { bucketId: string };
  const bucketId = b.bucketId;
  await upload(bucketId, 'logs/app.log', 'log line');
  await upload(bucketId, 'db/dump.sql', 'v1');
  await upload(bucketId, 'db/dump.sql', 'v2'); // v1 counts as hidden from now on
  await upload(bucketId, 'keep/other.txt', 'no rule covers me');
  await env.native('b2_start_large_file', {
    bucketId,
    fileName: 'db/partial.bin',
    contentType: 'application/octet-stream',
  });

  expect(await runLifecycle()).toMatchObject({ hidden: 0, deleted: 0, canceled: 0 });

  await advanceDays(2);
  expect(await runLifecycle()).toMatchObject({ hidden: 0, deleted: 1, canceled: 0 });
  expect(await versions(bucketId, 'db/')).toEqual([
    { fileName: 'db/dump.sql', action: 'upload' },
    { fileName: 'db/partial.bin', action: 'start' },
  ]);

  await advanceDays(29); // day 31: logs/ hidden, the 7-day-old unfinished large file cancelled
  expect(await runLifecycle()).toMatchObject({ hidden: 1, canceled: 1 });
  expect(await versions(bucketId, 'logs/')).toEqual([
    { fileName: 'logs/app.log', action: 'hide' },
    { fileName: 'logs/app.log', action: 'upload' },
  ]);
  const byName = await fetch(`${env.url}/file/lifecycle-native/logs/app.log`, {
    headers: {
      authorization: (
        (await env.native('b2_get_download_authorization', {
          bucketId,
          fileNamePrefix: '',
          validDurationInSeconds: 60,
        })) as { authorizationToken: string }
      ).authorizationToken,
    },
  });
  expect(byName.status).toBe(404);
  expect((await versions(bucketId, 'db/')).map((v) => v.action)).toEqual(['upload']);

  await advanceDays(10); // 10 days after hiding: the upload goes, and the orphaned marker with it
  await runLifecycle();
  expect(await versions(bucketId, 'logs/')).toEqual([]);
  // The current db/ upload is never deleted by daysFromHidingToDeleting alone; keep/ has no rule.
  expect(await versions(bucketId, 'db/')).toEqual([{ fileName: 'db/dump.sql', action: 'upload' }]);
  expect(await versions(bucketId, 'keep/')).toEqual([{ fileName: 'keep/other.txt', action: 'upload' }]);
});

it('S3 lifecycle configuration (Expiration.Days → hide) applies to objects written over S3', async () => {
  expect((await s3raw(env, 'PUT', '/lifecycle-s3')).status).toBe(200);
  const cfg =
    '<LifecycleConfiguration><Rule><ID>tmp</ID><Filter><Prefix>tmp/</Prefix></Filter><Status>Enabled</Status>' +
    '<Expiration><Days>3</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>2</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>';
  expect((await s3raw(env, 'PUT', '/lifecycle-s3', { query: { lifecycle: '' }, body: cfg })).status).toBe(
    200,
  );
  const got = await s3raw(env, 'GET', '/lifecycle-s3', { query: { lifecycle: '' } });
  expect(got.text).toContain('<Days>3</Days>');
  expect(got.text).toContain('<ExpiredObjectDeleteMarker>true</ExpiredObjectDeleteMarker>');
  await s3raw(env, 'PUT', '/lifecycle-s3/tmp/scratch.txt', { body: 'temporary' });
  await s3raw(env, 'PUT', '/lifecycle-s3/perm/kept.txt', { body: 'kept' });

  await advanceDays(3);
  await runLifecycle();
  const gone = await s3raw(env, 'GET', '/lifecycle-s3/tmp/scratch.txt');
  expect([gone.status, gone.code, gone.headers.get('x-amz-delete-marker')]).toEqual([
    404,
    'NoSuchKey',
    'true',
  ]);
  expect((await s3raw(env, 'GET', '/lifecycle-s3/perm/kept.txt')).status).toBe(200);

  await advanceDays(2);
  await runLifecycle();
  const left = await s3raw(env, 'GET', '/lifecycle-s3', { query: { versions: '', prefix: 'tmp/' } });
  expect(left.text).not.toContain('<Version>');
  expect(left.text).not.toContain('<DeleteMarker>');
});

it('runs by itself on the timer when the emulator day changes', async () => {
  const timed = await startS3Env({ env: { B2_LOCAL_LIFECYCLE_TICK_MS: '200' } });
  try {
    const b = (await timed.native('b2_create_bucket', {
      accountId: timed.accountId,
      bucketName: 'lifecycle-timer',
      bucketType: 'allPrivate',
      lifecycleRules: [{ fileNamePrefix: '', daysFromUploadingToHiding: 1, daysFromHidingToDeleting: null }],
    })) as { bucketId: string };
    await s3raw(timed, 'PUT', '/lifecycle-timer/x.txt', { body: 'x' });
    await timed.emu.admin('POST', '/__admin/clock', { advanceSeconds: 2 * DAY });
    let status = 0;
    for (let i = 0; i < 150 && status !== 404; i++) {
      await new Promise((r) => setTimeout(r, 100));
      status = (await s3raw(timed, 'HEAD', '/lifecycle-timer/x.txt')).status;
    }
    expect(status).toBe(404);
    const v = (await timed.native('b2_list_file_versions', { bucketId: b.bucketId })) as {
      files: Array<{ action: string }>;
    };
    expect(v.files.map((f) => f.action)).toEqual(['hide', 'upload']);
  } finally {
    await timed.stop();
  }
});

it('Object Lock keeps a hidden version past its delete day (legal hold), and lifecycle reports it', async () => {
  const b = (await env.native('b2_create_bucket', {
    accountId: env.accountId,
    bucketName: 'lifecycle-locked',
    bucketType: 'allPrivate',
    fileLockEnabled: true,
    lifecycleRules: [{ fileNamePrefix: '', daysFromUploadingToHiding: null, daysFromHidingToDeleting: 1 }],
  })) as { bucketId: string };
  const held = await upload(b.bucketId, 'held.txt', 'v1');
  await env.native('b2_update_file_legal_hold', { fileId: held, fileName: 'held.txt', legalHold: 'on' });
  await upload(b.bucketId, 'held.txt', 'v2');
  await advanceDays(2);
  const r = (await env.emu.admin('POST', '/__admin/lifecycle/run')) as { result: { locked: number } };
  expect(r.result.locked).toBeGreaterThanOrEqual(1);
  expect((await versions(b.bucketId, 'held.txt')).map((v) => v.action)).toEqual(['upload', 'upload']);
});
