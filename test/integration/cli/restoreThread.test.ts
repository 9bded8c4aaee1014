/**
 * Restores of large objects (≥ 64 MiB; forced here with IFB_SPOOL_THREAD=1) hash and write the spool
 * on a second thread (scripts/lib/spoolWriter.ts) and keep the spool contract of the main-thread path:
 * - a connection reset in the middle of the body resumes with Range + If-Match and the SHA-256
 *   still covers the whole object in order (both paths; a test proxy cuts the first GET);
 * - a tampered object exits 3, the existing target is untouched, no spool is left;
 * - a write error in the thread (file size limit, EFBIG) is named, exits 1, leaves no spool and no
 *   target — through the real bin, from its bundle and through tsx.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { cli, Estate, sdkClient, startEstate } from './fixture';

const ROOT = path.resolve(__dirname, '..', '..', '..');
const BIN = path.join(ROOT, 'bin', 'infrafabric-backup.js');
const MiB = 1024 * 1024;

let estate: Estate;
let tmp: string;
const body = randomBytes(24 * MiB);
const sha256 = createHash('sha256').update(body).digest('hex');
const KEY = 'misc/big.bin';
const TAMPERED = 'misc/tampered.bin';

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-restore-thread-'));
  const s3 = sdkClient(estate);
  await s3.send(new PutObjectCommand({ Bucket: estate.bucket, Key: KEY, Body: body, Metadata: { sha256 } }));
  // Same size, one byte changed, the original's hash in its metadata.
  const bad = Buffer.from(body);
  bad[17 * MiB + 5] ^= 1;
  await s3.send(
    new PutObjectCommand({ Bucket: estate.bucket, Key: TAMPERED, Body: bad, Metadata: { sha256 } }),
  );
  s3.destroy();
}, 60_000);

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const fileSha = (f: string): string => createHash('sha256').update(fs.readFileSync(f)).digest('hex');

/**
 * A 127.0.0.1 TCP proxy to the emulator that destroys the first connection carrying
 * `GET /<bucket>/<key>` once `cutAfter` response bytes have passed on it.
 */
async function cuttingProxy(
  key: string,
  cutAfter: number,
): Promise<{ url: string; cuts: () => number; close: () => Promise<void> }> {
  const upstream = new URL(estate.endpoint);
  let cuts = 0;
  const sockets = new Set<net.Socket>();
  const srv = net.createServer((client) => {
    const server = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client);
    sockets.add(server);
    let armed = false;
    let down = 0;
    client.on('data', (d: Buffer) => {
      if (cuts === 0 && d.toString('latin1').startsWith(`GET /${estate.bucket}/${key}`)) armed = true;
      server.write(d);
    });
    server.on('data', (d: Buffer) => {
      if (armed && cuts === 0) {
        down += d.length;
        if (down > cutAfter) {
          cuts++;
          client.destroy();
          server.destroy();
          return;
        }
      }
      client.write(d);
    });
    const end = (): void => {
      client.destroy();
      server.destroy();
    };
    client.on('error', end).on('close', end);
    server.on('error', end).on('close', end);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(srv.address() as net.AddressInfo).port}`,
    cuts: () => cuts,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

it.each([
  ['writer thread', '1'],
  ['main thread', '0'],
])(
  '%s: a reset mid-body resumes with a Range and the SHA-256 still matches',
  async (_what, thread) => {
    const proxy = await cuttingProxy(KEY, 9 * MiB + 12345);
    const spoolDir = fs.mkdtempSync(path.join(tmp, 'spool-'));
    const out = path.join(tmp, `resumed-${thread}.bin`);
    try {
      const r = await cli(estate, ['restore', '--key', KEY, '--to', out, '--spool-dir', spoolDir, '--json'], {
        B2_S3_ENDPOINT: proxy.url,
        IFB_SPOOL_THREAD: thread,
      });
      expect(proxy.cuts()).toBe(1);
      expect(r.stderr).toMatch(/retry: GetObject misc\/big\.bin/);
      expect(r.code).toBe(0);
      expect(r.json()).toMatchObject({ sha256, verified: true });
      expect(fileSha(out)).toBe(sha256);
      expect(fs.readdirSync(spoolDir)).toEqual([]);
    } finally {
      await proxy.close();
    }
  },
  60_000,
);

it('to stdout: the thread-written spool streams out byte-exact', async () => {
  const spoolDir = fs.mkdtempSync(path.join(tmp, 'spool-'));
  const r = await cli(estate, ['restore', '--key', KEY, '--to', '-', '--spool-dir', spoolDir], {
    IFB_SPOOL_THREAD: '1',
  });
  expect(r.code).toBe(0);
  expect(r.stdoutBuffer.length).toBe(body.length);
  expect(createHash('sha256').update(r.stdoutBuffer).digest('hex')).toBe(sha256);
  expect(fs.readdirSync(spoolDir)).toEqual([]);
}, 60_000);

it('a tampered object exits 3; the existing target is untouched and no spool is left (thread path)', async () => {
  const spoolDir = fs.mkdtempSync(path.join(tmp, 'spool-'));
  const out = path.join(tmp, 'precious.bin');
  fs.writeFileSync(out, 'precious');
  const r = await cli(
    estate,
    ['restore', '--key', TAMPERED, '--to', out, '--force', '--spool-dir', spoolDir],
    {
      IFB_SPOOL_THREAD: '1',
    },
  );
  expect(r.code).toBe(3);
  expect(r.stderr).toMatch(/downloaded SHA-256 [0-9a-f]{64} does not match .*nothing was written/);
  expect(fs.readFileSync(out, 'utf8')).toBe('precious');
  expect(fs.readdirSync(spoolDir)).toEqual([]);
}, 60_000);

function runBin(
  args: string[],
  env: NodeJS.ProcessEnv,
  fileLimitKiB?: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // dash's `ulimit -f` counts 512-byte blocks; Node ignores SIGXFSZ, so a write past it fails EFBIG.
  const cmd = fileLimitKiB
    ? ['sh', ['-c', `ulimit -f ${fileLimitKiB * 2} && exec "$0" "$@"`, process.execPath, BIN, ...args]]
    : [process.execPath, [BIN, ...args]];
  return new Promise((resolve, reject) => {
    const child = spawn(cmd[0] as string, cmd[1] as string[], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

// The objects here are below the thread's 64 MiB default: IFB_SPOOL_THREAD=1 forces it.
describe.each([
  ['bundle', { IFB_SPOOL_THREAD: '1' }],
  ['tsx', { IFB_NO_BUNDLE: '1', IFB_SPOOL_THREAD: '1' }],
])('the bin (%s)', (_how, extra: NodeJS.ProcessEnv) => {
  it('restores a large object through the writer thread, verified', async () => {
    const spoolDir = fs.mkdtempSync(path.join(tmp, 'spool-'));
    const out = path.join(tmp, `bin-${_how}.bin`);
    const r = await runBin(['restore', '--key', KEY, '--to', out, '--spool-dir', spoolDir, '--json'], {
      ...estate.env,
      ...extra,
    });
    expect(r.stderr).not.toMatch(/writer thread/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ sha256, verified: true });
    expect(fileSha(out)).toBe(sha256);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
  }, 60_000);

  it('a write error in the thread (EFBIG past the file size limit) is named; exit 1, no spool, no target', async () => {
    const spoolDir = fs.mkdtempSync(path.join(tmp, 'spool-'));
    const out = path.join(tmp, `efbig-${_how}.bin`);
    const r = await runBin(
      ['restore', '--key', KEY, '--to', out, '--spool-dir', spoolDir],
      { ...estate.env, ...extra },
      8 * 1024,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/writing the restore spool \S+ failed: EFBIG: file too large/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(fs.readdirSync(spoolDir)).toEqual([]);
    expect(fs.existsSync(out)).toBe(false);
  }, 60_000);
});
