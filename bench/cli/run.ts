/**
 * Backup CLI benchmarks against the emulator (issue 6 §4, issue 11 §13–14), all tools on the same
 * emulator in the same run:
 *   (a) 2 GiB stream upload: our db-dump-path uploader vs `rclone rcat` over S3 vs `rclone rcat`
 *       over the native b2 API vs `aws s3 cp -` (each tool's default transfer settings; the same
 *       generator feeds all four);
 *   (r) 1 GiB restore: `infrafabric-backup restore --to -` and `--to FILE` (spooled and SHA-256
 *       verified before anything is written) vs `rclone cat` over S3 and over b2 vs `aws s3 cp … -`,
 *       stdout into a pipe that the benchmark drains (as `| pg_restore` would);
 *   (b) peak RSS of our uploader while streaming 5 GiB (target ≤ 256 MiB);
 *   (c) `restore` of a 100 MB snapshot end to end through the CLI bin (target < 30 s);
 *   (d) 10,000 small files: `audit-logs` vs `rclone copy` vs `aws s3 sync`;
 *   (e) S3 requests per GiB for (a), from the emulator's call counters.
 *
 *   node bin/run-ts.js bench/cli/run.ts [--stream-mib 2048] [--restore-mib 1024] [--rounds 3]
 *                 [--rss-mib 5120] [--small-files 10000] [--only a,r,b,c,d] [--out FILE]
 *
 * Writes bench/results/cli.json; sections not run this time are kept from the previous file with
 * their own date. Every round records the 1-minute load average (the machine is shared). MB/s =
 * 10^6 bytes per second. Not part of `npm test`.
 */
import { ChildProcess, spawn } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createBucketAndKey } from '../../test/integration/cli/fixture';
import { startEmulator, RunningEmulator } from '../../test/helpers/emulator';

const ROOT = path.resolve(__dirname, '..', '..');
const AWS = '/usr/bin/aws';
const MiB = 1024 * 1024;

interface Args {
  streamMiB: number;
  restoreMiB: number;
  rssMiB: number;
  smallFiles: number;
  rounds: number;
  /** Sections to run (a,b,c,d); default all. */
  only: Set<string>;
  /** Also run our uploader forced to Content-MD5 (`BACKUP_S3_CHECKSUM=md5`): the CRC32 A/B. */
  withMd5: boolean;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    streamMiB: 2048,
    restoreMiB: 1024,
    rssMiB: 5120,
    smallFiles: 10_000,
    rounds: 3,
    only: new Set(['a', 'r', 'b', 'c', 'd']),
    withMd5: false,
    out: path.join(ROOT, 'bench', 'results', 'cli.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const v = Number(argv[i + 1]);
    if (argv[i] === '--stream-mib') a.streamMiB = v;
    else if (argv[i] === '--restore-mib') a.restoreMiB = v;
    else if (argv[i] === '--rss-mib') a.rssMiB = v;
    else if (argv[i] === '--small-files') a.smallFiles = v;
    else if (argv[i] === '--rounds') a.rounds = v;
    else if (argv[i] === '--out') a.out = path.resolve(argv[i + 1]);
    else if (argv[i] === '--only') a.only = new Set(argv[i + 1].split(','));
    else if (argv[i] === '--with-md5') {
      a.withMd5 = true;
      continue;
    } else throw new Error(`unknown flag ${argv[i]}`);
    i++;
  }
  return a;
}

interface Measured {
  seconds: number;
  maxRssKiB?: number;
  /** User + system CPU seconds of the measured command (GNU time). */
  cpuSeconds?: number;
  stdout: string;
  /** Bytes the command wrote to stdout (all of them, also when `drain` discarded them). */
  stdoutBytes: number;
  stderr: string;
}

/**
 * Runs `cmd` (optionally fed by `gen.js <bytes>`) under GNU time; returns wall time and peak RSS.
 * `drain`: stdout is counted and discarded (a restore's gigabyte), not kept as text.
 */
function measure(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  feedBytes?: number,
  drain = false,
): Promise<Measured> {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let gen: ChildProcess | undefined;
    if (feedBytes !== undefined)
      gen = spawn(process.execPath, [path.join(__dirname, 'gen.js'), String(feedBytes)], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
    const child = spawn('/usr/bin/time', ['-f', '__RSS__ %M %U %S', cmd, ...args], {
      env,
      stdio: [gen ? gen.stdout! : 'ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let outBytes = 0;
    let err = '';
    child.stdout!.on('data', (d: Buffer) => {
      outBytes += d.length;
      if (!drain) out += d.toString();
    });
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
      const m = /__RSS__ (\d+) ([\d.]+) ([\d.]+)/.exec(err);
      if (code !== 0)
        return reject(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
      resolve({
        seconds,
        maxRssKiB: m ? Number(m[1]) : undefined,
        cpuSeconds: m ? Number(m[2]) + Number(m[3]) : undefined,
        stdout: out,
        stdoutBytes: outBytes,
        stderr: err.replace(/__RSS__ [\d. ]+\n?/, ''),
      });
    });
  });
}

/** CPU seconds (user + system, all threads) the emulator process has used so far, from /proc. */
function emulatorCpuSeconds(emu: RunningEmulator): number {
  const stat = fs.readFileSync(`/proc/${emu.proc.pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}
const CLK_TCK = 100;

async function stats(emu: RunningEmulator): Promise<{ total: number; operations: Record<string, number> }> {
  return (await emu.admin('GET', '/__admin/stats')) as { total: number; operations: Record<string, number> };
}

async function resetStats(emu: RunningEmulator): Promise<void> {
  await fetch(`${emu.url}/__admin/stats`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${emu.info.adminToken}` },
  });
}

function perGiB(seconds: number | undefined, bytes: number): number | undefined {
  return seconds === undefined ? undefined : Number((seconds / (bytes / 1024 ** 3)).toFixed(2));
}

function medianOf(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-bench-cli-'));
  const emu = await startEmulator({ readyTimeoutMs: 30_000 });
  const bucket = `ifb-bench-cli-${process.pid}`;
  try {
    const { keyId, applicationKey } = await createBucketAndKey(emu, bucket);
    const base: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: tmp };
    const ours: NodeJS.ProcessEnv = {
      // BENCH_PART_SIZE / BENCH_CONCURRENCY tune streamUpload.ts for experiments.
      ...Object.fromEntries(Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_'))),
      ...base,
      B2_S3_ENDPOINT: emu.url,
      B2_BUCKET: bucket,
      B2_KEY_ID: keyId,
      B2_APPLICATION_KEY: applicationKey,
    };
    fs.writeFileSync(path.join(tmp, 'rclone.conf'), '');
    // rclone's native b2 backend against the emulator's native API (same key, same bucket).
    const rcloneB2: NodeJS.ProcessEnv = {
      ...base,
      RCLONE_CONFIG: path.join(tmp, 'rclone.conf'),
      RCLONE_CONFIG_EMU_TYPE: 'b2',
      RCLONE_CONFIG_EMU_ACCOUNT: keyId,
      RCLONE_CONFIG_EMU_KEY: applicationKey,
      RCLONE_CONFIG_EMU_ENDPOINT: emu.url,
    };
    const rclone: NodeJS.ProcessEnv = {
      ...base,
      RCLONE_CONFIG: path.join(tmp, 'rclone.conf'),
      RCLONE_CONFIG_EMU_TYPE: 's3',
      RCLONE_CONFIG_EMU_PROVIDER: 'Other',
      RCLONE_CONFIG_EMU_ACCESS_KEY_ID: keyId,
      RCLONE_CONFIG_EMU_SECRET_ACCESS_KEY: applicationKey,
      RCLONE_CONFIG_EMU_ENDPOINT: emu.url,
      RCLONE_CONFIG_EMU_REGION: 'us-west-004',
      RCLONE_CONFIG_EMU_FORCE_PATH_STYLE: 'true',
    };
    const aws: NodeJS.ProcessEnv = {
      ...base,
      AWS_ACCESS_KEY_ID: keyId,
      AWS_SECRET_ACCESS_KEY: applicationKey,
      AWS_DEFAULT_REGION: 'us-west-004',
      AWS_CONFIG_FILE: path.join(tmp, 'aws-config'),
      AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'aws-creds'),
    };
    const { S3Client, ListObjectVersionsCommand, DeleteObjectCommand } = await import('@aws-sdk/client-s3');
    const s3 = new S3Client({
      endpoint: emu.url,
      region: 'us-west-004',
      forcePathStyle: true,
      credentials: { accessKeyId: keyId, secretAccessKey: applicationKey },
    });
    const purge = async (prefix: string): Promise<void> => {
      for (;;) {
        const res = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
        const all = [...(res.Versions ?? []), ...(res.DeleteMarkers ?? [])];
        if (all.length === 0) return;
        for (const v of all)
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: v.Key!, VersionId: v.VersionId! }));
      }
    };
    const sizeOf = async (key: string): Promise<number> => {
      const res = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: key }));
      return res.Versions?.find((v) => v.Key === key)?.Size ?? -1;
    };
    // Sections not run this time stay as they were, each with the date of its own run.
    const previous = fs.existsSync(args.out)
      ? (JSON.parse(fs.readFileSync(args.out, 'utf8')) as Record<string, unknown>)
      : {};
    const sectionKeys: Record<string, string> = {
      a: 'streamUpload',
      r: 'restore',
      b: 'peakRss',
      c: 'restore100MB',
      d: 'smallFiles',
    };
    const kept: Record<string, unknown> = {};
    for (const [s, k] of Object.entries(sectionKeys)) {
      if (args.only.has(s) || previous[k] === undefined) continue;
      const prev = previous[k] as Record<string, unknown>;
      kept[k] = { ...prev, date: prev.date ?? previous.date };
    }
    const runDate = new Date().toISOString();
    const results: Record<string, unknown> = {
      ...kept,
      date: runDate,
      sectionsRun: [...args.only],
      machine: { cpus: os.cpus().length, loadavgAtStart: os.loadavg(), node: process.version },
      tools: {
        rclone: 'Debian rclone v1.60.1 (s3 backend, defaults: 5 MiB chunks, 4 concurrent)',
        rcloneB2: 'Debian rclone v1.60.1 (native b2 backend, defaults: 96 MiB chunks, 4 concurrent)',
        aws: 'Debian aws-cli 2.9.19 (defaults: 8 MiB parts, 10 concurrent)',
        ours: 'uploadStream: 16 MiB parts in pooled memory buffers, 4 in flight, x-amz-checksum-crc32 per part (zlib), UNSIGNED-PAYLOAD; restore: one GET hashed (SHA-256) into a private spool, then renamed (file) or streamed (stdout)',
      },
    };

    const bin = path.join(ROOT, 'bin', 'infrafabric-backup.js');
    // (a) + (e): 2 GiB stream upload, three tools.
    if (args.only.has('a')) {
      const streamBytes = args.streamMiB * MiB;
      const streamRuns: Record<string, unknown> = {};
      const runs: [string, string, string[], NodeJS.ProcessEnv][] = [
        ['ours', process.execPath, [path.join(__dirname, 'streamUpload.js'), 'stream/ours.bin'], ours],
        ...(args.withMd5
          ? [
              [
                'ours-md5',
                process.execPath,
                [path.join(__dirname, 'streamUpload.js'), 'stream/ours-md5.bin'],
                { ...ours, BACKUP_S3_CHECKSUM: 'md5' },
              ] as [string, string, string[], NodeJS.ProcessEnv],
            ]
          : []),
        ['rclone', 'rclone', ['rcat', `emu:${bucket}/stream/rclone.bin`], rclone],
        ['rcloneB2', 'rclone', ['rcat', `emu:${bucket}/stream/rcloneB2.bin`], rcloneB2],
        [
          'aws',
          AWS,
          ['s3', 'cp', '-', `s3://${bucket}/stream/aws.bin`, '--endpoint-url', emu.url, '--only-show-errors'],
          aws,
        ],
      ];
      // Rounds rotate the order so no tool always meets a cold (or tired) emulator; the
      // reported figure per tool is the median round.
      const perTool: Record<
        string,
        {
          seconds: number;
          MBps: number;
          maxRssMiB?: number;
          clientCpuSecPerGiB?: number;
          emulatorCpuSecPerGiB?: number;
          loadavg1: number;
          requests: number;
          operations: Record<string, number>;
        }[]
      > = {};
      for (let round = 0; round < args.rounds; round++) {
        for (let k = 0; k < runs.length; k++) {
          const [name, cmd, a, env] = runs[(k + round) % runs.length];
          await resetStats(emu);
          const emuCpu0 = emulatorCpuSeconds(emu);
          const m = await measure(cmd, a, env, streamBytes);
          const emuCpu = emulatorCpuSeconds(emu) - emuCpu0;
          const st = await stats(emu);
          const stored = await sizeOf(`stream/${name}.bin`);
          if (stored !== streamBytes)
            throw new Error(`${name}: stored ${stored} bytes, expected ${streamBytes}`);
          const r = {
            seconds: Number(m.seconds.toFixed(2)),
            MBps: Number((streamBytes / 1e6 / m.seconds).toFixed(1)),
            maxRssMiB: m.maxRssKiB ? Number((m.maxRssKiB / 1024).toFixed(1)) : undefined,
            clientCpuSecPerGiB: perGiB(m.cpuSeconds, streamBytes),
            emulatorCpuSecPerGiB: perGiB(emuCpu, streamBytes),
            loadavg1: Number(os.loadavg()[0].toFixed(2)),
            requests: st.total,
            operations: st.operations,
          };
          (perTool[name] ??= []).push(r);
          process.stderr.write(`(a) round ${round + 1} ${name}: ${JSON.stringify(r)}\n`);
          await purge('stream/');
        }
      }
      for (const [name, rs] of Object.entries(perTool)) {
        const sorted = [...rs].sort((x, y) => x.MBps - y.MBps);
        const med = sorted[Math.floor(sorted.length / 2)];
        streamRuns[name] = {
          medianMBps: med.MBps,
          allMBps: rs.map((r) => r.MBps),
          /** 1-minute load average after each round, same order as allMBps. */
          allLoadavg1: rs.map((r) => r.loadavg1),
          medianSeconds: med.seconds,
          maxRssMiB: Math.max(...rs.map((r) => r.maxRssMiB ?? 0)),
          clientCpuSecPerGiB: medianOf(rs.map((r) => r.clientCpuSecPerGiB ?? NaN)),
          allClientCpuSecPerGiB: rs.map((r) => r.clientCpuSecPerGiB),
          emulatorCpuSecPerGiB: medianOf(rs.map((r) => r.emulatorCpuSecPerGiB ?? NaN)),
          requests: med.requests,
          requestsPerGiB: Number((med.requests / (streamBytes / 1024 ** 3)).toFixed(1)),
          operations: med.operations,
        };
      }
      const mbps = (n: string): number => (streamRuns[n] as { medianMBps: number }).medianMBps;
      const cpu = (n: string): number => (streamRuns[n] as { clientCpuSecPerGiB: number }).clientCpuSecPerGiB;
      results.streamUpload = {
        date: runDate,
        bytes: streamBytes,
        rounds: args.rounds,
        runs: streamRuns,
        ratioVsRclone: Number((mbps('ours') / mbps('rclone')).toFixed(2)),
        ratioVsRcloneB2: Number((mbps('ours') / mbps('rcloneB2')).toFixed(2)),
        ratioVsAws: Number((mbps('ours') / mbps('aws')).toFixed(2)),
        /** Client CPU per GiB, ours / rclone native b2 (target ≤ 1). */
        cpuRatioVsRcloneB2: Number((cpu('ours') / cpu('rcloneB2')).toFixed(2)),
        ...(args.withMd5
          ? {
              /** The checksum A/B: CRC32 headers (ours) vs Content-MD5 (ours-md5), same run. */
              cpuRatioCrc32VsMd5: Number((cpu('ours') / cpu('ours-md5')).toFixed(2)),
              ratioCrc32VsMd5: Number((mbps('ours') / mbps('ours-md5')).toFixed(2)),
            }
          : {}),
      };
    }
    // (r) 1 GiB restore: ours (stdout, file) vs rclone cat (s3, b2) vs aws s3 cp - (stdout).
    if (args.only.has('r')) {
      const restoreBytes = args.restoreMiB * MiB;
      const key = 'bench/restore.bin';
      // One PUT with the SHA-256 in its metadata: `restore` verifies against it (the key is under
      // no backup job's prefix, so no run manifest is expected).
      const { randomBytes, createHash } = await import('crypto');
      const block = randomBytes(MiB);
      const body = Buffer.alloc(restoreBytes);
      for (let off = 0; off < restoreBytes; off += MiB) block.copy(body, off);
      const sha256 = createHash('sha256').update(body).digest('hex');
      const { PutObjectCommand } = await import('@aws-sdk/client-s3');
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, Metadata: { sha256 } }));
      const fileOut = path.join(tmp, 'restored.bin');
      const runs: [string, string, string[], NodeJS.ProcessEnv, 'stdout' | 'file'][] = [
        ['ours-stdout', process.execPath, [bin, 'restore', '--key', key, '--to', '-'], ours, 'stdout'],
        ['ours-file', process.execPath, [bin, 'restore', '--key', key, '--to', fileOut], ours, 'file'],
        ['rclone', 'rclone', ['cat', `emu:${bucket}/${key}`], rclone, 'stdout'],
        ['rcloneB2', 'rclone', ['cat', `emu:${bucket}/${key}`], rcloneB2, 'stdout'],
        [
          'aws',
          AWS,
          ['s3', 'cp', `s3://${bucket}/${key}`, '-', '--endpoint-url', emu.url, '--only-show-errors'],
          aws,
          'stdout',
        ],
      ];
      const perTool: Record<
        string,
        {
          MBps: number;
          seconds: number;
          clientCpuSecPerGiB?: number;
          emulatorCpuSecPerGiB?: number;
          maxRssMiB?: number;
          loadavg1: number;
        }[]
      > = {};
      for (let round = 0; round < args.rounds; round++) {
        for (let k = 0; k < runs.length; k++) {
          const [name, cmd, a, env, to] = runs[(k + round) % runs.length];
          fs.rmSync(fileOut, { force: true });
          const emuCpu0 = emulatorCpuSeconds(emu);
          const m = await measure(cmd, a, env, undefined, true);
          const emuCpu = emulatorCpuSeconds(emu) - emuCpu0;
          const got = to === 'file' ? fs.statSync(fileOut).size : m.stdoutBytes;
          if (got !== restoreBytes)
            throw new Error(`${name}: restored ${got} bytes, expected ${restoreBytes}`);
          const r = {
            seconds: Number(m.seconds.toFixed(2)),
            MBps: Number((restoreBytes / 1e6 / m.seconds).toFixed(1)),
            clientCpuSecPerGiB: perGiB(m.cpuSeconds, restoreBytes),
            emulatorCpuSecPerGiB: perGiB(emuCpu, restoreBytes),
            maxRssMiB: m.maxRssKiB ? Number((m.maxRssKiB / 1024).toFixed(1)) : undefined,
            loadavg1: Number(os.loadavg()[0].toFixed(2)),
          };
          (perTool[name] ??= []).push(r);
          process.stderr.write(`(r) round ${round + 1} ${name}: ${JSON.stringify(r)}\n`);
        }
      }
      fs.rmSync(fileOut, { force: true });
      const restoreRuns: Record<string, { medianMBps: number; clientCpuSecPerGiB: number }> = {};
      for (const [name, rs] of Object.entries(perTool)) {
        const sorted = [...rs].sort((x, y) => x.MBps - y.MBps);
        const med = sorted[Math.floor(sorted.length / 2)];
        restoreRuns[name] = {
          medianMBps: med.MBps,
          allMBps: rs.map((r) => r.MBps),
          allLoadavg1: rs.map((r) => r.loadavg1),
          medianSeconds: med.seconds,
          clientCpuSecPerGiB: medianOf(rs.map((r) => r.clientCpuSecPerGiB ?? NaN)),
          allClientCpuSecPerGiB: rs.map((r) => r.clientCpuSecPerGiB),
          emulatorCpuSecPerGiB: medianOf(rs.map((r) => r.emulatorCpuSecPerGiB ?? NaN)),
          maxRssMiB: Math.max(...rs.map((r) => r.maxRssMiB ?? 0)),
        } as never;
      }
      const ratio = (a: string, b: string): number =>
        Number((restoreRuns[a].medianMBps / restoreRuns[b].medianMBps).toFixed(2));
      const cpuRatio = (a: string, b: string): number =>
        Number((restoreRuns[a].clientCpuSecPerGiB / restoreRuns[b].clientCpuSecPerGiB).toFixed(2));
      results.restore = {
        date: runDate,
        bytes: restoreBytes,
        rounds: args.rounds,
        runs: restoreRuns,
        /** Throughput ours / rclone cat over S3 (target ≥ 1.0). */
        stdoutVsRcloneCat: ratio('ours-stdout', 'rclone'),
        fileVsRcloneCat: ratio('ours-file', 'rclone'),
        stdoutVsRcloneB2: ratio('ours-stdout', 'rcloneB2'),
        stdoutVsAws: ratio('ours-stdout', 'aws'),
        /** CPU per GiB ours / rclone cat over S3 (target ≤ 1.0). */
        stdoutCpuVsRcloneCat: cpuRatio('ours-stdout', 'rclone'),
        fileCpuVsRcloneCat: cpuRatio('ours-file', 'rclone'),
      };
    }
    // (b) peak RSS streaming 5 GiB.
    if (args.only.has('b')) {
      const rssBytes = args.rssMiB * MiB;
      const big = await measure(
        process.execPath,
        [path.join(ROOT, 'bin', 'run-ts.js'), path.join(__dirname, 'streamUpload.ts'), 'stream/rss.bin'],
        ours,
        rssBytes,
      );
      const bigOut = JSON.parse(big.stdout.trim().split('\n').pop()!) as {
        size: number;
        parts: number;
        maxRssKiB: number;
      };
      if (bigOut.size !== rssBytes) throw new Error(`rss run uploaded ${bigOut.size}`);
      results.peakRss = {
        date: runDate,
        bytes: rssBytes,
        parts: bigOut.parts,
        seconds: Number(big.seconds.toFixed(2)),
        MBps: Number((rssBytes / 1e6 / big.seconds).toFixed(1)),
        maxRssMiB: Number(((big.maxRssKiB ?? bigOut.maxRssKiB) / 1024).toFixed(1)),
        targetMiB: 256,
      };
      process.stderr.write(`(b) ${JSON.stringify(results.peakRss)}\n`);
      await purge('stream/');
    }
    // (c) restore of a 100 MB snapshot, end to end through the CLI bin.
    if (args.only.has('c')) {
      const snapDir = path.join(tmp, 'snapshot');
      fs.mkdirSync(snapDir);
      const { randomBytes } = await import('crypto');
      for (let i = 0; i < 10; i++)
        fs.writeFileSync(path.join(snapDir, `part-${i}.bin`), randomBytes(10_000_000));
      const up = await measure(
        process.execPath,
        [bin, 'snapshot-config', '--provider', 'aws', '--from', snapDir, '--json'],
        ours,
      );
      const snapKey = (JSON.parse(up.stdout) as { key: string }).key;
      const restoreTo = path.join(tmp, 'restored.tar.gz');
      const rs = await measure(
        process.execPath,
        [bin, 'restore', '--key', snapKey, '--to', restoreTo, '--json'],
        ours,
      );
      const size = fs.statSync(restoreTo).size;
      results.restore100MB = {
        date: runDate,
        key: snapKey,
        bytes: size,
        seconds: Number(rs.seconds.toFixed(2)),
        maxRssMiB: rs.maxRssKiB ? Number((rs.maxRssKiB / 1024).toFixed(1)) : undefined,
        targetSeconds: 30,
        uploadSeconds: Number(up.seconds.toFixed(2)),
      };
      process.stderr.write(`(c) ${JSON.stringify(results.restore100MB)}\n`);
    }
    // (d) 10,000 small files.
    if (args.only.has('d')) {
      const small = path.join(tmp, 'small');
      fs.mkdirSync(small);
      for (let i = 0; i < args.smallFiles; i++) {
        const d = path.join(small, `host-${i % 20}`);
        if (i < 20) fs.mkdirSync(d);
        fs.writeFileSync(
          path.join(d, `audit-${i}.log`),
          `{"ts":"2026-01-01T00:00:00Z","i":${i},"actor":"svc","verb":"get"}\n`.repeat(12),
        );
      }
      const smallRuns: Record<string, unknown> = {};
      const smallCmds: [string, string, string[], NodeJS.ProcessEnv][] = [
        [
          'ours',
          process.execPath,
          [
            bin,
            'audit-logs',
            '--dir',
            small,
            '--name',
            'bench',
            '--state-file',
            path.join(tmp, 'audit-state.json'),
            '--json',
          ],
          ours,
        ],
        ['rclone', 'rclone', ['copy', small, `emu:${bucket}/rclone-small/`], rclone],
        [
          'aws',
          AWS,
          ['s3', 'sync', small, `s3://${bucket}/aws-small/`, '--endpoint-url', emu.url, '--only-show-errors'],
          aws,
        ],
      ];
      for (const [name, cmd, a, env] of smallCmds) {
        await resetStats(emu);
        const m = await measure(cmd, a, env);
        const st = await stats(emu);
        smallRuns[name] = {
          seconds: Number(m.seconds.toFixed(2)),
          filesPerSecond: Number((args.smallFiles / m.seconds).toFixed(1)),
          requests: st.total,
          maxRssMiB: m.maxRssKiB ? Number((m.maxRssKiB / 1024).toFixed(1)) : undefined,
        };
        process.stderr.write(`(d) ${name}: ${JSON.stringify(smallRuns[name])}\n`);
      }
      const sec = (n: string): number => (smallRuns[n] as { seconds: number }).seconds;
      results.smallFiles = {
        date: runDate,
        files: args.smallFiles,
        runs: smallRuns,
        ratioVsRclone: Number((sec('rclone') / sec('ours')).toFixed(2)),
        ratioVsAws: Number((sec('aws') / sec('ours')).toFixed(2)),
      };
    }
    results.loadavgAtEnd = os.loadavg();

    fs.mkdirSync(path.dirname(args.out), { recursive: true });
    fs.writeFileSync(args.out, JSON.stringify(results, null, 2) + '\n');
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
  } finally {
    await emu.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
