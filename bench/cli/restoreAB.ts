/**
 * A/B of `restore` between two checkouts against one emulator in one run: a 1 GiB object (SHA-256
 * in its metadata), then rounds that alternate the variants' order, each variant restoring to a
 * file and to stdout (drained), plus `rclone cat` over S3 as the yardstick. Records wall time,
 * client CPU (user + sys from GNU time) and the 1-minute load average of every run.
 *
 *   node bin/run-ts.js bench/cli/restoreAB.ts --a <checkout> --b <checkout> [--rounds 3] [--mib 1024]
 *   [--out FILE]   (BENCH_HOLD=1: print the env and keep the emulator up for manual runs)
 */
import { spawn } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createBucketAndKey } from '../../test/integration/cli/fixture';
import { startEmulator } from '../../test/helpers/emulator';

const MiB = 1024 * 1024;

function arg(name: string, dflt?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0) return process.argv[i + 1];
  if (dflt === undefined) throw new Error(`--${name} is required`);
  return dflt;
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ seconds: number; cpu: number; bytes: number }> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const child = spawn('/usr/bin/time', ['-f', '__T__ %U %S', cmd, ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let bytes = 0;
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (bytes += d.length));
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /__T__ ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0 || !m)
        return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-1500)}`));
      resolve({ seconds, cpu: Number(m[1]) + Number(m[2]), bytes });
    });
  });
}

async function main(): Promise<void> {
  const a = path.resolve(arg('a'));
  const b = path.resolve(arg('b'));
  const rounds = Number(arg('rounds', '3'));
  const bytes = Number(arg('mib', '1024')) * MiB;
  const out = arg('out', '');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-restore-ab-'));
  const emu = await startEmulator({ readyTimeoutMs: 30_000 });
  const bucket = `ifb-restore-ab-${process.pid}`;
  try {
    const { keyId, applicationKey } = await createBucketAndKey(emu, bucket);
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: tmp,
      B2_S3_ENDPOINT: emu.url,
      B2_BUCKET: bucket,
      B2_KEY_ID: keyId,
      B2_APPLICATION_KEY: applicationKey,
    };
    const rclone: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: tmp,
      RCLONE_CONFIG: path.join(tmp, 'rclone.conf'),
      RCLONE_CONFIG_EMU_TYPE: 's3',
      RCLONE_CONFIG_EMU_PROVIDER: 'Other',
      RCLONE_CONFIG_EMU_ACCESS_KEY_ID: keyId,
      RCLONE_CONFIG_EMU_SECRET_ACCESS_KEY: applicationKey,
      RCLONE_CONFIG_EMU_ENDPOINT: emu.url,
      RCLONE_CONFIG_EMU_REGION: 'us-west-004',
      RCLONE_CONFIG_EMU_FORCE_PATH_STYLE: 'true',
    };
    fs.writeFileSync(path.join(tmp, 'rclone.conf'), '');
    const { S3Client, PutObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint: emu.url,
      region: 'us-west-004',
      forcePathStyle: true,
      credentials: { accessKeyId: keyId, secretAccessKey: applicationKey },
    });
    const key = 'bench/restore.bin';
    const block = randomBytes(MiB);
    const body = Buffer.alloc(bytes);
    for (let off = 0; off < bytes; off += MiB) block.copy(body, off);
    const sha256 = createHash('sha256').update(body).digest('hex');
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { sha256 } }));
    if (process.env.BENCH_HOLD) {
      const lines = Object.entries(env).map(([k, v]) => `export ${k}='${v}'`);
      fs.writeFileSync(path.join(os.tmpdir(), 'ifb-restore-ab.env'), lines.join('\n') + '\n');
      process.stderr.write(
        `env in ${path.join(os.tmpdir(), 'ifb-restore-ab.env')}; Ctrl-C/SIGTERM to stop\n`,
      );
      await new Promise<void>((r) => {
        process.once('SIGTERM', r);
        process.once('SIGINT', r);
      });
      return;
    }
    const fileOut = path.join(tmp, 'restored.bin');
    const variants: [string, string, string[], NodeJS.ProcessEnv, 'file' | 'stdout'][] = [];
    for (const [tag, dir] of [
      ['A', a],
      ['B', b],
    ] as const) {
      const bin = path.join(dir, 'bin', 'infrafabric-backup.js');
      variants.push([
        `${tag}-file`,
        process.execPath,
        [bin, 'restore', '--key', key, '--to', fileOut],
        env,
        'file',
      ]);
      variants.push([
        `${tag}-stdout`,
        process.execPath,
        [bin, 'restore', '--key', key, '--to', '-'],
        env,
        'stdout',
      ]);
    }
    variants.push(['rclone-cat', 'rclone', ['cat', `emu:${bucket}/${key}`], rclone, 'stdout']);
    const results: Record<string, { MBps: number; cpuSecPerGiB: number; load1: number }[]> = {};
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? variants : [...variants].reverse();
      for (const [name, cmd, args, e, to] of order) {
        fs.rmSync(fileOut, { force: true });
        const m = await run(cmd, args, e);
        const got = to === 'file' ? fs.statSync(fileOut).size : m.bytes;
        if (got !== bytes) throw new Error(`${name}: ${got} bytes, expected ${bytes}`);
        if (to === 'file') {
          const h = createHash('sha256').update(fs.readFileSync(fileOut)).digest('hex');
          if (h !== sha256) throw new Error(`${name}: restored file has the wrong SHA-256`);
        }
        const r = {
          MBps: Number((bytes / 1e6 / m.seconds).toFixed(1)),
          cpuSecPerGiB: Number((m.cpu / (bytes / 1024 ** 3)).toFixed(2)),
          load1: Number(os.loadavg()[0].toFixed(1)),
        };
        (results[name] ??= []).push(r);
        process.stderr.write(`round ${round + 1} ${name}: ${JSON.stringify(r)}\n`);
      }
    }
    const med = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)];
    const summary = Object.fromEntries(
      Object.entries(results).map(([k, rs]) => [
        k,
        {
          medianMBps: med(rs.map((r) => r.MBps)),
          medianCpuSecPerGiB: med(rs.map((r) => r.cpuSecPerGiB)),
          runs: rs,
        },
      ]),
    );
    const doc = { date: new Date().toISOString(), bytes, rounds, a, b, summary };
    process.stdout.write(JSON.stringify(doc, null, 2) + '\n');
    if (out) fs.writeFileSync(out, JSON.stringify(doc, null, 2) + '\n');
  } finally {
    await emu.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack}\n`);
  process.exit(1);
});
