/**
 * `--data` is locked by the server that opens it: a second server on the same directory refuses
 * to start with a named error naming the holder's pid (and does not touch the first one's
 * in-flight uploads); after the holder is killed with SIGKILL a new server takes the directory.
 */
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { FsStore } from '../../emulator/store/fs';
import { DataDirLockedError } from '../../emulator/store/lock';
import { startEmulator, type RunningEmulator } from '../helpers/emulator';
import { Session, bucketName } from '../conformance/wire/native-helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

let dir: string;
const running: RunningEmulator[] = [];

beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-lock-'));
});

afterEach(async () => {
  for (const e of running.splice(0)) await e.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Run a second b2-local on the same directory; it must exit by itself. */
function second(args: string[] = []): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const p = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'b2-local.js'), '--port', '0', '--data', dir, ...args],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    let stdout = '';
    p.stderr.on('data', (d) => (stderr += d));
    p.stdout.on('data', (d) => (stdout += d));
    const t = setTimeout(() => p.kill('SIGKILL'), 20_000);
    p.on('exit', (code) => {
      clearTimeout(t);
      resolve({ code, stderr, stdout });
    });
  });
}

test('a second server on the same --data refuses to start and names the holder', async () => {
  const a = await startEmulator({ data: dir });
  running.push(a);
  const r = await second();
  expect(r.code).toBe(1);
  expect(r.stdout).toBe(''); // no ready line
  expect(r.stderr).toContain(
    `data directory ${path.join(dir, 'us-west-004')} is in use by another b2-local (pid ${a.proc.pid})`,
  );
  expect(r.stderr).toMatch(/stop that process or pass a different --data directory/);
  // the first server still works
  const s = await Session.master(a, 3);
  const b = await s.createBucket(bucketName('lock'));
  await s.uploadOk(b.bucketId, 'still-fine.txt', 'yes');
}, 60_000);

test("the refused server leaves the holder's in-flight upload alone", async () => {
  const a = await startEmulator({ data: dir });
  running.push(a);
  const s = await Session.master(a, 3);
  const b = await s.createBucket(bucketName('lock'));
  const u = await s.ok('b2_get_upload_url', { bucketId: b.bucketId });
  const data = Buffer.alloc(4_000_000, 'in flight;');
  const url = new URL(u.uploadUrl);
  let req!: http.ClientRequest;
  const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
    req = http.request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        headers: {
          authorization: u.authorizationToken,
          'x-bz-file-name': 'in-flight.bin',
          'content-type': 'b2/x-auto',
          'x-bz-content-sha1': sha1(data),
          'content-length': String(data.length),
        },
      },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode!, text }));
      },
    );
    req.on('error', reject);
  });
  req.write(data.subarray(0, 2_000_000));
  // wait until the holder has the temp file of the upload on disk
  const tmp = path.join(dir, 'us-west-004', 'tmp');
  for (let i = 0; i < 100 && fs.readdirSync(tmp).length === 0; i++)
    await new Promise((r) => setTimeout(r, 20));
  expect(fs.readdirSync(tmp).length).toBe(1);
  const r = await second();
  expect(r.code).toBe(1);
  expect(fs.readdirSync(tmp).length).toBe(1);
  req.end(data.subarray(2_000_000));
  const done = await answer;
  expect(done.status).toBe(200);
  expect(JSON.parse(done.text).contentSha1).toBe(sha1(data));
}, 60_000);

test('after SIGKILL of the holder a new server takes the directory; data intact', async () => {
  const a = await startEmulator({ data: dir });
  const s = await Session.master(a, 3);
  const b = await s.createBucket(bucketName('lock'));
  const f = await s.uploadOk(b.bucketId, 'survivor.txt', 'kept across kill -9');
  await a.stop('SIGKILL');
  // the pid file of the dead holder is still there: it must not block
  expect(fs.existsSync(path.join(dir, 'us-west-004', 'lock.pid'))).toBe(true);
  const c = await startEmulator({ data: dir });
  running.push(c);
  const s2 = await Session.master(c, 3);
  const info = await s2.ok('b2_get_file_info', { fileId: f.fileId });
  expect(info.fileName).toBe('survivor.txt');
  const pid = JSON.parse(fs.readFileSync(path.join(dir, 'us-west-004', 'lock.pid'), 'utf8')).pid;
  expect(pid).toBe(c.proc.pid);
}, 60_000);

test('a clean stop releases the directory at once', async () => {
  const a = await startEmulator({ data: dir });
  await a.stop();
  expect(fs.existsSync(path.join(dir, 'us-west-004', 'lock.pid'))).toBe(false);
  const b = await startEmulator({ data: dir });
  running.push(b);
});

test('in one process: a second store on an open directory is refused with DataDirLockedError', () => {
  const one = new FsStore(dir);
  try {
    let err: unknown;
    try {
      new FsStore(dir).close();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DataDirLockedError);
    expect((err as DataDirLockedError).holderPid).toBe(process.pid);
  } finally {
    one.close();
  }
  new FsStore(dir).close(); // released by close()
});
