/**
 * Conformance: the real B2 command-line tool (`b2`, PyPI package b2, on the newest b2sdk) against
 * the emulator, driven exactly as an operator would type it. Its account cache lives in a temp
 * file (B2_ACCOUNT_INFO), so nothing touches ~/.b2_account_info.
 *
 * Steps run in order and share state; each asserts what a user would check by eye.
 */
import * as fs from 'fs';
import * as path from 'path';
import { startEmulator, RunningEmulator } from '../../helpers/emulator';
import {
  cleanEnv,
  detBytes,
  expectSuccess,
  hashFile,
  MiB,
  nativeSession,
  runId,
  runProcess,
  sha1Hex,
  sha256File,
  tempDir,
  venvExecutable,
  writeDetFile,
  ProcessResult,
} from '../b2sdk/support';

jest.setTimeout(10 * 60_000);

const B2 = venvExecutable('venv', 'b2');

/** The fields of `b2 file upload` JSON output the tests read. */
interface UploadOutput {
  fileId: string;
  size?: number;
  contentLength?: number;
  contentSha1: string;
  fileInfo: Record<string, string>;
  serverSideEncryption?: { mode: string | null };
}

describe('b2 CLI against the emulator', () => {
  let emu: RunningEmulator;
  const work = tempDir('b2cli-');
  const bucket = `cf-b2cli-${runId()}`;
  const files: Record<string, string> = {}; // name -> fileId
  let readerKey: { id: string; key: string } | undefined;

  /** Runs `b2 ...` with a given account-info file (one per identity). */
  function b2(args: string[], accountInfo = 'master', stdoutFile?: string): Promise<ProcessResult> {
    return runProcess(B2, args, {
      stdoutFile,
      env: cleanEnv({
        B2_ACCOUNT_INFO: path.join(work.dir, `${accountInfo}.sqlite`),
        XDG_CONFIG_HOME: work.dir,
        B2_ESCAPE_CONTROL_CHARACTERS: '0',
        HOME: work.dir,
      }),
      timeoutMs: 5 * 60_000,
    });
  }
  async function b2ok(args: string[], accountInfo = 'master'): Promise<string> {
    return expectSuccess(`b2 ${args.join(' ')}`, await b2(args, accountInfo)).stdout;
  }
  /** `b2 file upload` prints "URL by file name: …" lines before its JSON; take the JSON part. */
  function json<T = UploadOutput>(stdout: string): T {
    const start = stdout.search(/^[[{]/m);
    if (start < 0) throw new Error(`no JSON in b2 output:\n${stdout}`);
    return JSON.parse(stdout.slice(start)) as T;
  }
  function local(name: string): string {
    return path.join(work.dir, name);
  }

  beforeAll(async () => {
    emu = await startEmulator();
  });
  afterAll(async () => {
    await emu?.stop();
    work.cleanup();
  });

  it('authorizes with the master key against the emulator realm', async () => {
    await b2ok(['account', 'authorize', '--environment', emu.url, emu.info.keyId, emu.info.applicationKey]);
    const account = JSON.parse(await b2ok(['account', 'get']));
    expect(account.apiUrl).toBe(emu.url);
    expect(account.accountId).toBe(emu.info.accountId);
  });

  it('creates a bucket with a lifecycle rule, SSE-B2 default encryption and bucket info', async () => {
    const rule = { fileNamePrefix: 'logs/', daysFromUploadingToHiding: 30, daysFromHidingToDeleting: 1 };
    await b2ok([
      'bucket',
      'create',
      '--bucket-info',
      JSON.stringify({ team: 'platform' }),
      '--lifecycle-rule',
      JSON.stringify(rule),
      '--default-server-side-encryption',
      'SSE-B2',
      bucket,
      'allPrivate',
    ]);
    const got = JSON.parse(await b2ok(['bucket', 'get', bucket]));
    expect(got.bucketName).toBe(bucket);
    expect(got.bucketType).toBe('allPrivate');
    expect(got.bucketInfo).toEqual({ team: 'platform' });
    expect(got.lifecycleRules).toEqual([rule]);
    expect(got.defaultServerSideEncryption).toEqual({ mode: 'SSE-B2', algorithm: 'AES256' });
  });

  it('uploads a small file with content type and file info', async () => {
    const data = detBytes('b2cli-small-1', 4321);
    fs.writeFileSync(local('small1.txt'), data);
    const out = json(
      await b2ok([
        'file',
        'upload',
        '--no-progress',
        '--content-type',
        'text/plain',
        '--info',
        'color=blue',
        bucket,
        local('small1.txt'),
        'docs/hello.txt',
      ]),
    );
    expect(out.size ?? out.contentLength).toBe(data.length);
    expect(out.contentSha1).toBe(sha1Hex(data));
    expect(out.fileInfo).toMatchObject({ color: 'blue' });
    expect(out.serverSideEncryption).toMatchObject({ mode: 'SSE-B2' });
    files.v1 = out.fileId;
  });

  it('uploads a 30 MiB file (below recommendedPartSize, so the CLI sends it in one request)', async () => {
    // The CLI splits only above the account's recommendedPartSize (100 MB on B2 and here); the
    // multi-part path is covered by the b2sdk and rclone suites and by the 300 MB file there.
    const sha256 = writeDetFile(local('large30.bin'), 'b2cli-large-30', 30 * MiB);
    files.largeSha256 = sha256;
    const out = json(
      await b2ok([
        'file',
        'upload',
        '--no-progress',
        '--threads',
        '3',
        bucket,
        local('large30.bin'),
        'big/large30.bin',
      ]),
    );
    expect(out.size ?? out.contentLength).toBe(30 * MiB);
    files.large = out.fileId;
    // Independent check through the native API: stored whole, SHA-1 verified end to end.
    const s = await nativeSession(emu.url, emu.info.keyId, emu.info.applicationKey);
    const info = await s.call<{ contentSha1: string; contentLength: number }>('b2_get_file_info', {
      fileId: out.fileId,
    });
    expect(info.contentLength).toBe(30 * MiB);
    expect(info.contentSha1).toBe(hashFile(local('large30.bin'), 'sha1'));
  });

  it('lists both versions of a file, newest first', async () => {
    fs.writeFileSync(local('small2.txt'), detBytes('b2cli-small-2', 5432));
    const out = json(
      await b2ok(['file', 'upload', '--no-progress', bucket, local('small2.txt'), 'docs/hello.txt']),
    );
    files.v2 = out.fileId;
    const listed = JSON.parse(await b2ok(['ls', '--json', '--versions', `b2://${bucket}/docs/`])) as Array<{
      fileId: string;
      fileName: string;
    }>;
    expect(listed.map((f) => f.fileId)).toEqual([files.v2, files.v1]);
  });

  it('hides a file: gone from the latest listing, kept as versions', async () => {
    await b2ok(['file', 'hide', `b2://${bucket}/docs/hello.txt`]);
    const latest = JSON.parse(await b2ok(['ls', '--json', '-r', `b2://${bucket}`])) as Array<{
      fileName: string;
    }>;
    expect(latest.map((f) => f.fileName)).toEqual(['big/large30.bin']);
    const all = JSON.parse(await b2ok(['ls', '--json', '-r', '--versions', `b2://${bucket}`])) as Array<{
      fileName: string;
      action: string;
    }>;
    expect(all.map((f) => [f.fileName, f.action])).toEqual([
      ['big/large30.bin', 'upload'],
      ['docs/hello.txt', 'hide'],
      ['docs/hello.txt', 'upload'],
      ['docs/hello.txt', 'upload'],
    ]);
  });

  it('downloads byte-exact by id and by name (including the 30 MiB file)', async () => {
    await b2ok(['file', 'download', '--no-progress', `b2id://${files.v1}`, local('got1.txt')]);
    expect(fs.readFileSync(local('got1.txt'))).toEqual(fs.readFileSync(local('small1.txt')));
    await b2ok(['file', 'download', '--no-progress', `b2://${bucket}/big/large30.bin`, local('got30.bin')]);
    expect(sha256File(local('got30.bin'))).toBe(files.largeSha256);
    // A hidden file is not downloadable by name.
    const hidden = await b2([
      'file',
      'download',
      '--no-progress',
      `b2://${bucket}/docs/hello.txt`,
      local('nope'),
    ]);
    expect(hidden.code).not.toBe(0);
  });

  it('copies server-side and streams the copy with `b2 file cat`', async () => {
    await b2ok([
      'file',
      'server-side-copy',
      `b2://${bucket}/big/large30.bin`,
      `b2://${bucket}/copies/large30.bin`,
    ]);
    const res = expectSuccess(
      'b2 file cat',
      await b2(['file', 'cat', `b2://${bucket}/copies/large30.bin`], 'master', local('cat.out')),
    );
    expect(res.stdoutBytes.length).toBe(30 * MiB);
    expect(sha1Hex(res.stdoutBytes)).toBe(hashFile(local('large30.bin'), 'sha1'));
  });

  it('unhides a file: the newest upload is current again', async () => {
    await b2ok(['file', 'unhide', `b2://${bucket}/docs/hello.txt`]);
    const res = expectSuccess(
      'b2 file cat',
      await b2(['file', 'cat', `b2://${bucket}/docs/hello.txt`], 'master', local('cat.out')),
    );
    expect(res.stdoutBytes).toEqual(fs.readFileSync(local('small2.txt')));
  });

  it('updates lifecycle rules and bucket type in place (revision + 1)', async () => {
    const before = JSON.parse(await b2ok(['bucket', 'get', bucket])) as { revision: number };
    const rules = [
      { fileNamePrefix: 'logs/', daysFromUploadingToHiding: 30, daysFromHidingToDeleting: 1 },
      { fileNamePrefix: 'tmp/', daysFromUploadingToHiding: 1, daysFromHidingToDeleting: 1 },
    ];
    await b2ok(['bucket', 'update', '--lifecycle-rules', JSON.stringify(rules), bucket, 'allPrivate']);
    const after = JSON.parse(await b2ok(['bucket', 'get', bucket])) as {
      revision: number;
      lifecycleRules: unknown[];
      bucketType: string;
    };
    expect(after.lifecycleRules).toEqual(rules);
    expect(after.bucketType).toBe('allPrivate');
    expect(after.revision).toBe(before.revision + 1);
  });

  it('hands out a prefix-scoped download authorization and the file URL', async () => {
    const token = (
      await b2ok(['bucket', 'get-download-auth', '--prefix', 'docs/', '--duration', '60', bucket])
    ).trim();
    const url = (await b2ok(['file', 'url', `b2://${bucket}/docs/hello.txt`])).trim();
    expect(url).toBe(`${emu.url}/file/${bucket}/docs/hello.txt`);
    const ok = await fetch(`${url}?Authorization=${encodeURIComponent(token)}`);
    expect(ok.status).toBe(200);
    expect(Buffer.from(await ok.arrayBuffer())).toEqual(fs.readFileSync(local('small2.txt')));
    const outside = await fetch(
      `${emu.url}/file/${bucket}/big/large30.bin?Authorization=${encodeURIComponent(token)}`,
    );
    expect(outside.status).toBe(401);
    expect((await fetch(url)).status).toBe(401); // private bucket, no token
  });

  it('a restricted key reads inside its prefix and is denied writes and reads outside it', async () => {
    const out = await b2ok([
      'key',
      'create',
      '--bucket',
      bucket,
      '--name-prefix',
      'docs/',
      `cf-reader-${runId()}`,
      'listBuckets,listFiles,readFiles',
    ]);
    const [id, key] = out.trim().split(/\s+/);
    readerKey = { id, key };
    await b2ok(['account', 'authorize', '--environment', emu.url, id, key], 'reader');
    await b2ok(['file', 'download', '--no-progress', `b2id://${files.v1}`, local('reader1.txt')], 'reader');
    expect(fs.readFileSync(local('reader1.txt'))).toEqual(fs.readFileSync(local('small1.txt')));
    const write = await b2(
      ['file', 'upload', '--no-progress', bucket, local('small1.txt'), 'docs/new.txt'],
      'reader',
    );
    expect(write.code).not.toBe(0);
    expect(write.stderr.toLowerCase()).toMatch(/unauthorized|not allowed|access denied/);
    const outside = await b2(
      ['file', 'download', '--no-progress', `b2://${bucket}/big/large30.bin`, local('reader30.bin')],
      'reader',
    );
    expect(outside.code).not.toBe(0);
  });

  it('syncs 200 small files up and back down byte-exact', async () => {
    const src = local('bulk-src');
    const dst = local('bulk-dst');
    const expected = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      const rel = `dir${i % 5}/file-${String(i).padStart(3, '0')}.dat`;
      fs.mkdirSync(path.dirname(path.join(src, rel)), { recursive: true });
      const data = detBytes(`b2cli-bulk-${i}`, 1 + ((i * 7919) % 4096));
      fs.writeFileSync(path.join(src, rel), data);
      expected.set(rel, sha1Hex(data));
    }
    await b2ok(['sync', '--no-progress', '--upload-threads', '4', src, `b2://${bucket}/bulk`]);
    await b2ok(['sync', '--no-progress', '--download-threads', '4', `b2://${bucket}/bulk`, dst]);
    for (const [rel, sha1] of expected) {
      expect([rel, sha1Hex(fs.readFileSync(path.join(dst, rel)))]).toEqual([rel, sha1]);
    }
    const listed = JSON.parse(await b2ok(['ls', '--json', '-r', `b2://${bucket}/bulk/`])) as unknown[];
    expect(listed).toHaveLength(200);
  });

  it('removes every version, the reader key and the bucket', async () => {
    await b2ok(['rm', '--no-progress', '--versions', '-r', `b2://${bucket}`]);
    if (readerKey) await b2ok(['key', 'delete', readerKey.id]);
    await b2ok(['bucket', 'delete', bucket]);
    const buckets = await b2ok(['bucket', 'list']);
    expect(buckets).not.toContain(bucket);
  });
});
