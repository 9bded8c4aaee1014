/**
 * Conformance: Debian's rclone, b2 backend, against the emulator (`--b2-endpoint`). rclone is
 * configured only through RCLONE_CONFIG_EMU_* environment variables and an empty config file in a
 * temp dir, never a user's rclone.conf. Facts rclone cannot show (encryption applied, large-file
 * storage, hide markers) are verified independently through the native API over plain HTTP.
 *
 * Steps run in order and share state. The bulk step copies 200 small files and one 300 MB file
 * up and back down and checks every byte (`rclone check` on SHA-1, then SHA-256 of the copies).
 */
import * as fs from 'fs';
import * as path from 'path';
import { startEmulator, RunningEmulator } from '../../helpers/emulator';
import {
  cleanEnv,
  debianBinary,
  detBytes,
  expectSuccess,
  hashFile,
  MiB,
  nativeSession,
  NativeSession,
  runId,
  runProcess,
  sha1Hex,
  sha256File,
  tempDir,
  writeDetFile,
  ProcessResult,
} from '../b2sdk/support';

jest.setTimeout(10 * 60_000);

const RCLONE = debianBinary('rclone');

interface FileVersion {
  fileId: string;
  fileName: string;
  action: string;
  contentSha1: string;
  contentLength: number;
  fileInfo: Record<string, string>;
  serverSideEncryption?: { mode: string | null; algorithm?: string };
}

describe('rclone b2 backend against the emulator', () => {
  let emu: RunningEmulator;
  let native: NativeSession;
  const work = tempDir('rclone-b2-');
  const id = runId();
  const bucket = `cf-rclone-${id}`; // created natively with lifecycle + SSE-B2
  const bulkBucket = `cf-rclone-bulk-${id}`; // created by rclone itself
  let bucketId = '';

  /** rclone with remote "emu" = the emulator, as `account`/`key` (master unless given). */
  function rclone(args: string[], creds?: { keyId: string; key: string }): Promise<ProcessResult> {
    const configFile = path.join(work.dir, 'rclone.conf');
    if (!fs.existsSync(configFile)) fs.writeFileSync(configFile, '');
    return runProcess(
      RCLONE,
      ['--b2-endpoint', emu.url, '--low-level-retries', '2', '--retries', '1', ...args],
      {
        env: cleanEnv({
          RCLONE_CONFIG: configFile,
          RCLONE_CONFIG_EMU_TYPE: 'b2',
          RCLONE_CONFIG_EMU_ACCOUNT: creds?.keyId ?? emu.info.keyId,
          RCLONE_CONFIG_EMU_KEY: creds?.key ?? emu.info.applicationKey,
          HOME: work.dir,
          XDG_CACHE_HOME: path.join(work.dir, 'cache'),
        }),
        timeoutMs: 8 * 60_000,
      },
    );
  }
  async function rcloneOk(args: string[], creds?: { keyId: string; key: string }): Promise<string> {
    return expectSuccess(`rclone ${args.join(' ')}`, await rclone(args, creds)).stdout;
  }
  async function versions(prefix: string, b = bucketId): Promise<FileVersion[]> {
    const res = await native.call<{ files: FileVersion[] }>('b2_list_file_versions', {
      bucketId: b,
      prefix,
      maxFileCount: 1000,
    });
    return res.files;
  }
  const local = (name: string) => path.join(work.dir, name);

  beforeAll(async () => {
    emu = await startEmulator();
    native = await nativeSession(emu.url, emu.info.keyId, emu.info.applicationKey);
  });
  afterAll(async () => {
    await emu?.stop();
    work.cleanup();
  });

  it('authorizes and lists buckets (rclone lsd)', async () => {
    const created = await native.call<{ bucketId: string }>('b2_create_bucket', {
      accountId: native.accountId,
      bucketName: bucket,
      bucketType: 'allPrivate',
      lifecycleRules: [
        { fileNamePrefix: 'logs/', daysFromUploadingToHiding: 30, daysFromHidingToDeleting: 1 },
      ],
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    });
    bucketId = created.bucketId;
    const out = await rcloneOk(['lsd', 'emu:']);
    expect(out).toContain(bucket);
  });

  it('creates a bucket (rclone mkdir) that B2 lists as allPrivate', async () => {
    await rcloneOk(['mkdir', `emu:${bulkBucket}`]);
    const res = await native.call<{ buckets: Array<{ bucketName: string; bucketType: string }> }>(
      'b2_list_buckets',
      {
        accountId: native.accountId,
        bucketName: bulkBucket,
      },
    );
    expect(res.buckets.map((b) => [b.bucketName, b.bucketType])).toEqual([[bulkBucket, 'allPrivate']]);
  });

  it('uploads a small file into the lifecycle + SSE-B2 bucket; B2 applies the default encryption', async () => {
    const data = detBytes('rclone-small-1', 6789);
    fs.writeFileSync(local('small1.txt'), data);
    await rcloneOk(['copyto', local('small1.txt'), `emu:${bucket}/docs/hello.txt`]);
    const [v] = await versions('docs/hello.txt');
    expect(v.contentLength).toBe(data.length);
    expect(v.contentSha1).toBe(sha1Hex(data));
    expect(v.serverSideEncryption).toMatchObject({ mode: 'SSE-B2' });
  });

  it('uploads a 30 MiB file as a large file (10 MiB chunks) with large_file_sha1', async () => {
    const sha256 = writeDetFile(local('large30.bin'), 'rclone-large-30', 30 * MiB);
    await rcloneOk([
      'copyto',
      '--b2-upload-cutoff',
      '10M',
      '--b2-chunk-size',
      '10M',
      local('large30.bin'),
      `emu:${bucket}/big/large30.bin`,
    ]);
    const [v] = await versions('big/large30.bin');
    expect(v.contentLength).toBe(30 * MiB);
    expect(v.contentSha1).toBe('none');
    expect(v.fileInfo.large_file_sha1).toMatch(/^[0-9a-f]{40}$/);
    expect(sha256).toHaveLength(64);
  });

  it('lists old versions (--b2-versions)', async () => {
    fs.writeFileSync(local('small2.txt'), detBytes('rclone-small-2', 7890));
    await rcloneOk(['copyto', local('small2.txt'), `emu:${bucket}/docs/hello.txt`]);
    const listed = JSON.parse(await rcloneOk(['lsjson', '--b2-versions', `emu:${bucket}/docs`])) as Array<{
      Name: string;
      Size: number;
    }>;
    const names = listed.map((e) => e.Name).sort();
    expect(names).toHaveLength(2);
    expect(names).toContain('hello.txt');
    expect(names.find((n) => n !== 'hello.txt')).toMatch(/^hello-v\d{4}-\d\d-\d\d-\d{6}-\d{3}\.txt$/);
    expect((await versions('docs/hello.txt')).map((v) => v.action)).toEqual(['upload', 'upload']);
  });

  it('hides on delete: gone from the listing, a hide marker on B2', async () => {
    await rcloneOk(['delete', `emu:${bucket}/docs/hello.txt`]);
    const listed = JSON.parse(await rcloneOk(['lsjson', '-R', `emu:${bucket}`])) as Array<{
      Path: string;
      IsDir: boolean;
    }>;
    expect(listed.filter((e) => !e.IsDir).map((e) => e.Path)).toEqual(['big/large30.bin']);
    expect((await versions('docs/hello.txt')).map((v) => v.action)).toEqual(['hide', 'upload', 'upload']);
  });

  it('downloads byte-exact (whole, range, large file)', async () => {
    await rcloneOk(['copyto', `emu:${bucket}/big/large30.bin`, local('got30.bin')]);
    expect(sha256File(local('got30.bin'))).toBe(sha256File(local('large30.bin')));
    const ranged = expectSuccess(
      'rclone cat --offset --count',
      await rclone(['cat', '--offset', '1000', '--count', '5000', `emu:${bucket}/big/large30.bin`]),
    );
    const whole = fs.readFileSync(local('large30.bin'));
    expect(sha1Hex(ranged.stdoutBytes)).toBe(sha1Hex(whole.subarray(1000, 6000)));
  });

  it('copies server-side: small with b2_copy_file, large in b2_copy_part ranges', async () => {
    await rcloneOk([
      'copyto',
      `emu:${bucket}/big/large30.bin`,
      `emu:${bucket}/copies/small-copy.bin`,
      '--b2-copy-cutoff',
      '100M',
    ]);
    await rcloneOk([
      'copyto',
      `emu:${bucket}/big/large30.bin`,
      `emu:${bucket}/copies/large-copy.bin`,
      '--b2-copy-cutoff',
      '10M',
    ]);
    for (const name of ['copies/small-copy.bin', 'copies/large-copy.bin']) {
      await rcloneOk(['copyto', `emu:${bucket}/${name}`, local('copy.got')]);
      expect([name, sha256File(local('copy.got'))]).toEqual([name, sha256File(local('large30.bin'))]);
    }
    const [large] = await versions('copies/large-copy.bin');
    expect(large.contentSha1).toBe('none'); // assembled from parts
    const stats = (await emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
    expect(stats.operations.b2_copy_file ?? 0).toBeGreaterThan(0);
    expect(stats.operations.b2_copy_part ?? 0).toBeGreaterThanOrEqual(3);
  });

  it('shares a private file with a download authorization link (rclone link)', async () => {
    const url = (await rcloneOk(['link', '--expire', '1h', `emu:${bucket}/big/large30.bin`])).trim();
    expect(url.startsWith(`${emu.url}/file/${bucket}/big/large30.bin?Authorization=`)).toBe(true);
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(sha1Hex(Buffer.from(await res.arrayBuffer()))).toBe(hashFile(local('large30.bin'), 'sha1'));
    // The token is scoped to that name: another file in the bucket is refused with it.
    const token = new URL(url).searchParams.get('Authorization');
    const other = await fetch(`${emu.url}/file/${bucket}/copies/small-copy.bin?Authorization=${token}`);
    expect(other.status).toBe(401);
  });

  it('a read-only key scoped to the bucket can read and is denied writes', async () => {
    const key = await native.call<{ applicationKeyId: string; applicationKey: string }>('b2_create_key', {
      accountId: native.accountId,
      keyName: `cf-rclone-reader-${id}`,
      capabilities: ['listBuckets', 'listFiles', 'readFiles'],
      bucketId,
    });
    const creds = { keyId: key.applicationKeyId, key: key.applicationKey };
    await rcloneOk(['copyto', `emu:${bucket}/big/large30.bin`, local('reader30.bin')], creds);
    expect(sha256File(local('reader30.bin'))).toBe(sha256File(local('large30.bin')));
    const write = await rclone(['copyto', local('small1.txt'), `emu:${bucket}/docs/denied.txt`], creds);
    expect(write.code).not.toBe(0);
    expect(write.stderr).toMatch(/unauthorized|401/i);
    expect(await versions('docs/denied.txt')).toEqual([]);
  });

  it('cleans up old versions and hide markers (rclone cleanup), keeping current files', async () => {
    await rcloneOk(['cleanup', `emu:${bucket}`]);
    expect(await versions('docs/')).toEqual([]); // hidden file: marker and both versions deleted
    expect((await versions('big/large30.bin')).map((v) => v.action)).toEqual(['upload']);
    const listed = JSON.parse(await rcloneOk(['lsjson', '-R', `emu:${bucket}`])) as Array<{
      Path: string;
      IsDir: boolean;
    }>;
    expect(
      listed
        .filter((e) => !e.IsDir)
        .map((e) => e.Path)
        .sort(),
    ).toEqual(['big/large30.bin', 'copies/large-copy.bin', 'copies/small-copy.bin']);
  });

  it('round-trips names that need URL encoding (spaces, +, %, ?, #, unicode, emoji)', async () => {
    const names = [
      'space name.txt',
      'plus+sign.txt',
      'percent%20literal.txt',
      'query?hash#amp&eq=.txt',
      'ünïcödé-日本語.txt',
      'emoji-\u{1F600}.txt',
      'deep/a/b/c.txt',
    ];
    const src = local('names-src');
    for (const [i, n] of names.entries()) {
      fs.mkdirSync(path.dirname(path.join(src, n)), { recursive: true });
      fs.writeFileSync(path.join(src, n), detBytes(`rclone-name-${i}`, 100 + i));
    }
    await rcloneOk(['copy', src, `emu:${bucket}/names`]);
    await rcloneOk(['check', src, `emu:${bucket}/names`]);
    // B2 stores exactly these names (rclone's b2 encoding leaves them as they are).
    expect((await versions('names/')).map((v) => v.fileName).sort()).toEqual(
      names.map((n) => `names/${n}`).sort(),
    );
    await rcloneOk(['copy', `emu:${bucket}/names`, local('names-dst')]);
    for (const n of names) {
      expect([n, sha256File(path.join(local('names-dst'), n))]).toEqual([n, sha256File(path.join(src, n))]);
    }
  });

  it('copies 200 small files and one 300 MB file up and back, checked byte for byte', async () => {
    const src = local('bulk-src');
    const dst = local('bulk-dst');
    const expected = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const rel = `dir${i % 5}/file-${String(i).padStart(3, '0')}.dat`;
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      const data = detBytes(`rclone-bulk-${i}`, 1 + ((i * 7919) % 4096));
      fs.writeFileSync(path.join(src, rel), data);
      expected.set(rel, sha1Hex(data));
    }
    const bigSha256 = writeDetFile(path.join(src, 'big300.bin'), 'rclone-big-300', 300 * 1000 * 1000);
    await rcloneOk(['copy', '--transfers', '4', src, `emu:${bulkBucket}/bulk`]);
    // rclone check compares sizes and SHA-1 (large_file_sha1 for the large file) on both sides.
    await rcloneOk(['check', '--one-way', src, `emu:${bulkBucket}/bulk`]);
    fs.rmSync(src, { recursive: true, force: true }); // keep at most ~300 MB on disk at a time
    await rcloneOk(['copy', '--transfers', '4', `emu:${bulkBucket}/bulk`, dst]);
    for (const [rel, sha1] of expected) {
      expect([rel, sha1Hex(fs.readFileSync(path.join(dst, rel)))]).toEqual([rel, sha1]);
    }
    expect(sha256File(path.join(dst, 'big300.bin'))).toBe(bigSha256);
    fs.rmSync(dst, { recursive: true, force: true });
  });

  it('survives token expiry and transient 503/reset faults (re-authorizes, retries)', async () => {
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 24 * 3600 + 60 });
    await emu.admin('POST', '/__admin/faults', {
      rules: [
        { operation: 'b2_upload_file', status: 503, code: 'service_unavailable', count: 2 },
        { operation: 'b2_list_file_names', action: 'reset', count: 1 },
      ],
    });
    const data = detBytes('rclone-resilience', 4096);
    fs.writeFileSync(local('resilience.bin'), data);
    let faults: { rules: Array<{ operation: string; fired: number }> };
    try {
      // rclone's default of 10 low-level retries (the suite otherwise fails fast with 2).
      const retries = ['--low-level-retries', '10'];
      await rcloneOk([
        'copyto',
        ...retries,
        local('resilience.bin'),
        `emu:${bulkBucket}/resilience/after.bin`,
      ]);
      const listed = JSON.parse(
        await rcloneOk(['lsjson', ...retries, `emu:${bulkBucket}/resilience`]),
      ) as Array<{
        Name: string;
      }>;
      expect(listed.map((e) => e.Name)).toEqual(['after.bin']);
      faults = (await emu.admin('GET', '/__admin/faults')) as typeof faults;
    } finally {
      await emu.admin('DELETE', '/__admin/faults');
    }
    const cat = expectSuccess('rclone cat', await rclone(['cat', `emu:${bulkBucket}/resilience/after.bin`]));
    expect(cat.stdoutBytes).toEqual(data);
    // Our own verification session expired with the clock move as well (B2 tokens last 24 h).
    native = await nativeSession(emu.url, emu.info.keyId, emu.info.applicationKey);
    expect(Object.fromEntries(faults.rules.map((r) => [r.operation, r.fired]))).toEqual({
      b2_upload_file: 2,
      b2_list_file_names: 1,
    });
  });

  it('purges a bucket (all versions, then the bucket)', async () => {
    await rcloneOk(['purge', `emu:${bulkBucket}`]);
    const res = await native.call<{ buckets: unknown[] }>('b2_list_buckets', {
      accountId: native.accountId,
      bucketName: bulkBucket,
    });
    expect(res.buckets).toEqual([]);
  });
});
