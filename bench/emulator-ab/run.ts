/**
 * A/B benchmark of the emulator against an earlier commit: the `emulator-native` and
 * `emulator-s3` workloads (large-file parts over plain node:http; an S3 multipart upload with
 * signed payloads; downloads of both; plus a run of small native uploads) against two emulators
 * on this machine at once — A built from `--base` (default: the commit before the engine split),
 * B from this checkout — alternating A/B and B/A each round so load drift hits both alike.
 * Reports per-metric medians, the ratio B/A (≥ 0.95 = no regression), and each emulator's CPU
 * seconds per GiB (from /proc, less sensitive to a shared machine than wall time).
 *
 *   node bin/run-ts.js bench/emulator-ab/run.ts [--base <commit>] [--head <commit>] [--size-mib 256] [--rounds 5]
 *
 * `--head` builds B from a commit too (default: this checkout as it is), e.g. to measure one change
 * alone: `--base 40df4be --head c0257d9` is the engine split and nothing else.
 *
 * Writes bench/results/emulator-ab.json. MB/s = 10^6 bytes per second.
 */
import { execFileSync, spawn, type ChildProcess } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { signer, s3Encode } from '../../test/conformance/wire/s3helpers';

const ROOT = path.resolve(__dirname, '..', '..');
const DEFAULT_BASE = '40df4be'; // last commit with the single-class emulator/core/engine.ts

interface Args {
  base: string;
  head: string | null;
  sizeMiB: number;
  rounds: number;
  small: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const a: Args = {
    base: DEFAULT_BASE,
    head: null,
    sizeMiB: 256,
    rounds: 5,
    small: 300,
    out: path.join(ROOT, 'bench', 'results', 'emulator-ab.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value (see the header of this file)`);
    const num = (): number => {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} needs a positive integer, got "${value}"`);
      return n;
    };
    if (flag === '--base') a.base = value;
    else if (flag === '--head') a.head = value;
    else if (flag === '--size-mib') a.sizeMiB = num();
    else if (flag === '--rounds') a.rounds = num();
    else if (flag === '--small') a.small = num();
    else if (flag === '--out') a.out = path.resolve(value);
    else
      throw new Error(`unknown flag ${flag} (flags: --base, --head, --size-mib, --rounds, --small, --out)`);
  }
  return a;
}

interface Emu {
  label: 'A' | 'B';
  proc: ChildProcess;
  url: string;
  keyId: string;
  key: string;
  adminToken: string;
  region: string;
}

async function startAt(root: string, label: 'A' | 'B'): Promise<Emu> {
  const proc = spawn(process.execPath, [path.join(root, 'bin', 'b2-local.js'), '--memory', '--port', '0'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const ready = await new Promise<{
    url: string;
    keyId: string;
    applicationKey: string;
    adminToken: string;
    region: string;
  }>((resolve, reject) => {
    readline.createInterface({ input: proc.stdout! }).once('line', (l) => resolve(JSON.parse(l)));
    proc.once('exit', (c) => reject(new Error(`emulator ${label} exited ${c} before its ready line`)));
  });
  return {
    label,
    proc,
    url: ready.url,
    keyId: ready.keyId,
    key: ready.applicationKey,
    adminToken: ready.adminToken,
    region: ready.region,
  };
}

/** utime + stime of a process in seconds. */
function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ = 100 on Linux
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });

function request(
  url: string,
  method: string,
  headers: Record<string, string>,
  body?: Buffer,
): Promise<{ status: number; body: Buffer; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, body: Buffer.concat(chunks), headers: res.headers }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function ok(p: ReturnType<typeof request>, what: string) {
  const r = await p;
  if (r.status !== 200 && r.status !== 204)
    throw new Error(`${what} -> ${r.status} ${r.body.toString().slice(0, 300)}`);
  return r;
}

interface Session {
  apiUrl: string;
  token: string;
  accountId: string;
  call(name: string, body: object): Promise<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
}

async function session(e: Emu): Promise<Session> {
  const r = await ok(
    request(`${e.url}/b2api/v2/b2_authorize_account`, 'GET', {
      authorization: 'Basic ' + Buffer.from(`${e.keyId}:${e.key}`).toString('base64'),
    }),
    'authorize',
  );
  const j = JSON.parse(r.body.toString());
  return {
    apiUrl: j.apiUrl,
    token: j.authorizationToken,
    accountId: j.accountId,
    async call(name, body) {
      const res = await ok(
        request(
          `${j.apiUrl}/b2api/v2/${name}`,
          'POST',
          { authorization: j.authorizationToken },
          Buffer.from(JSON.stringify(body)),
        ),
        name,
      );
      return JSON.parse(res.body.toString());
    },
  };
}

interface Data {
  buf: Buffer;
  parts: { buf: Buffer; sha1: string; sha256: string }[];
}

function makeData(sizeMiB: number): Data {
  const block = randomBytes(1 << 20);
  const buf = Buffer.alloc(sizeMiB << 20);
  for (let off = 0; off < buf.length; off += block.length) block.copy(buf, off);
  const partSize = Math.max(5_000_000, Math.ceil(buf.length / 4));
  const parts = [];
  for (let off = 0; off < buf.length; off += partSize) {
    const p = buf.subarray(off, Math.min(buf.length, off + partSize));
    parts.push({
      buf: p,
      sha1: createHash('sha1').update(p).digest('hex'),
      sha256: createHash('sha256').update(p).digest('hex'),
    });
  }
  return { buf, parts };
}

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/** One round on one emulator: every workload, timed, with the emulator's CPU per workload. */
async function round(
  e: Emu,
  data: Data,
  small: number,
): Promise<Record<string, { mbps: number; cpu: number }>> {
  const out: Record<string, { mbps: number; cpu: number }> = {};
  const measure = async (name: string, bytes: number, fn: () => Promise<void>) => {
    const c0 = cpuSeconds(e.proc.pid!);
    const t0 = process.hrtime.bigint();
    await fn();
    const s = seconds(t0);
    out[name] = { mbps: bytes / 1e6 / s, cpu: cpuSeconds(e.proc.pid!) - c0 };
  };
  const s = await session(e);
  const bucket = await s.call('b2_create_bucket', {
    accountId: s.accountId,
    bucketName: `ab-${e.label.toLowerCase()}-${Date.now()}`,
    bucketType: 'allPrivate',
  });
  const k = await s.call('b2_create_key', {
    accountId: s.accountId,
    keyName: 'ab',
    capabilities: ['listFiles', 'readFiles', 'writeFiles', 'deleteFiles'],
  });
  const size = data.buf.length;

  await measure('native upload', size, async () => {
    const f = await s.call('b2_start_large_file', {
      bucketId: bucket.bucketId,
      fileName: 'native.bin',
      contentType: 'application/octet-stream',
    });
    await Promise.all(
      data.parts.map(async (p, i) => {
        const u = await s.call('b2_get_upload_part_url', { fileId: f.fileId });
        await ok(
          request(
            u.uploadUrl,
            'POST',
            {
              authorization: u.authorizationToken,
              'x-bz-part-number': String(i + 1),
              'x-bz-content-sha1': p.sha1,
              'content-length': String(p.buf.length),
            },
            p.buf,
          ),
          'b2_upload_part',
        );
      }),
    );
    await s.call('b2_finish_large_file', { fileId: f.fileId, partSha1Array: data.parts.map((p) => p.sha1) });
  });
  await measure('native download', size, async () => {
    const r = await ok(
      request(`${e.url}/file/${bucket.bucketName}/native.bin`, 'GET', { authorization: s.token }),
      'download',
    );
    if (r.body.length !== size) throw new Error(`native download: ${r.body.length} bytes, expected ${size}`);
  });

  const sig = signer(k.applicationKeyId, k.applicationKey, e.region);
  const u = new URL(e.url);
  const s3call = async (
    method: string,
    key: string,
    query: Record<string, string>,
    body: Buffer,
    sha256: string,
  ) => {
    const p = `/${bucket.bucketName}/${key}`;
    const signed = await sig.sign({
      method,
      protocol: 'http:',
      hostname: u.hostname,
      port: Number(u.port),
      path: p,
      query,
      headers: { host: u.host, 'x-amz-content-sha256': sha256, 'content-length': String(body.length) },
    });
    const qs = Object.entries(query)
      .map(([q, v]) => `${s3Encode(q)}=${s3Encode(v)}`)
      .join('&');
    return ok(
      request(`${e.url}${p}${qs ? '?' + qs : ''}`, method, signed.headers as Record<string, string>, body),
      `S3 ${method} ${p}`,
    );
  };
  const empty = Buffer.alloc(0);
  const emptySha = createHash('sha256').update(empty).digest('hex');
  await measure('s3 upload', size, async () => {
    const created = await s3call('POST', 's3.bin', { uploads: '' }, empty, emptySha);
    const uploadId = /<UploadId>([^<]+)/.exec(created.body.toString())![1]!;
    const etags = await Promise.all(
      data.parts.map(async (p, i) =>
        String(
          (await s3call('PUT', 's3.bin', { partNumber: String(i + 1), uploadId }, p.buf, p.sha256)).headers
            .etag,
        ),
      ),
    );
    const xml = Buffer.from(
      `<CompleteMultipartUpload>${etags.map((t, i) => `<Part><PartNumber>${i + 1}</PartNumber><ETag>${t}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
    );
    await s3call('POST', 's3.bin', { uploadId }, xml, createHash('sha256').update(xml).digest('hex'));
  });
  await measure('s3 download', size, async () => {
    const r = await s3call('GET', 's3.bin', {}, empty, emptySha);
    if (r.body.length !== size) throw new Error(`s3 download: ${r.body.length} bytes, expected ${size}`);
  });

  const tiny = Buffer.from('small object\n');
  const tinySha = createHash('sha1').update(tiny).digest('hex');
  await measure(`native ${small} small uploads`, small * tiny.length, async () => {
    const up = await s.call('b2_get_upload_url', { bucketId: bucket.bucketId });
    for (let i = 0; i < small; i++)
      await ok(
        request(
          up.uploadUrl,
          'POST',
          {
            authorization: up.authorizationToken,
            'x-bz-file-name': `small/${i}`,
            'content-type': 'text/plain',
            'x-bz-content-sha1': tinySha,
            'content-length': String(tiny.length),
          },
          tiny,
        ),
        'b2_upload_file',
      );
  });
  // small uploads are counted in calls per second, not MB/s
  const smallKey = `native ${small} small uploads`;
  out[smallKey]!.mbps = (out[smallKey]!.mbps * 1e6) / tiny.length;

  await ok(
    request(`${e.url}/__admin/reset`, 'POST', { authorization: `Bearer ${e.adminToken}` }),
    'admin reset',
  );
  return out;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const rev = (r: string): string =>
    execFileSync('git', ['-C', ROOT, 'rev-parse', r], { encoding: 'utf8' }).trim();
  const checkout = (commit: string): string => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-ab-'));
    execFileSync('sh', ['-c', `git -C "${ROOT}" archive ${commit} | tar -x -C "${dir}"`]);
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    return dir;
  };
  const baseCommit = rev(args.base);
  const headCommit = args.head ? rev(args.head) : rev('HEAD');
  const baseRoot = checkout(baseCommit);
  const headRoot = args.head ? checkout(headCommit) : ROOT;
  const emus: Emu[] = [];
  try {
    emus.push(await startAt(baseRoot, 'A'), await startAt(headRoot, 'B'));
    const data = makeData(args.sizeMiB);
    const runs: Record<'A' | 'B', Record<string, { mbps: number; cpu: number }>[]> = { A: [], B: [] };
    const load0 = os.loadavg();
    for (let r = 0; r < args.rounds; r++) {
      const order = r % 2 === 0 ? emus : [...emus].reverse();
      for (const e of order) {
        runs[e.label].push(await round(e, data, args.small));
        process.stderr.write(
          `[ab] round ${r + 1}/${args.rounds} ${e.label}: ${JSON.stringify(runs[e.label].at(-1))}\n`,
        );
      }
    }
    const load1 = os.loadavg();
    const metrics = Object.keys(runs.A[0]!);
    const gib = args.sizeMiB / 1024;
    const table = metrics.map((m) => {
      const a = median(runs.A.map((x) => x[m]!.mbps));
      const b = median(runs.B.map((x) => x[m]!.mbps));
      const perGiB = m.includes('small') ? 1 : gib;
      const cpuA = median(runs.A.map((x) => x[m]!.cpu)) / perGiB;
      const cpuB = median(runs.B.map((x) => x[m]!.cpu)) / perGiB;
      return {
        metric: m,
        unit: m.includes('small') ? 'calls/s' : 'MB/s',
        A: Number(a.toFixed(1)),
        B: Number(b.toFixed(1)),
        ratioBA: Number((b / a).toFixed(3)),
        emulatorCpu: {
          unit: m.includes('small') ? 's per run' : 's per GiB',
          A: Number(cpuA.toFixed(2)),
          B: Number(cpuB.toFixed(2)),
          ratioBA: Number((cpuB / cpuA).toFixed(3)),
        },
        runsA: runs.A.map((x) => Number(x[m]!.mbps.toFixed(1))),
        runsB: runs.B.map((x) => Number(x[m]!.mbps.toFixed(1))),
      };
    });
    const result = {
      benchmark: 'emulator-ab',
      date: new Date().toISOString(),
      command: `node bin/run-ts.js bench/emulator-ab/run.ts --base ${args.base}${args.head ? ` --head ${args.head}` : ''} --size-mib ${args.sizeMiB} --rounds ${args.rounds} --small ${args.small}`,
      A: { commit: baseCommit, what: 'base' },
      B: { commit: headCommit, what: args.head ? 'head' : 'this checkout' },
      machine: {
        cpus: os.cpus().length,
        loadavgStart: load0.map((x) => Number(x.toFixed(1))),
        loadavgEnd: load1.map((x) => Number(x.toFixed(1))),
      },
      method:
        'both emulators --memory on 127.0.0.1, alternating A,B / B,A per round; 4 parallel parts over node:http (native with SHA-1, S3 with signed SHA-256 payloads); medians of the rounds',
      target: 'ratio B/A >= 0.95 for every metric',
      met: table.every((t) => t.ratioBA >= 0.95),
      table,
    };
    fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
    for (const t of table)
      process.stdout.write(
        `${t.metric.padEnd(28)} A ${String(t.A).padStart(8)} B ${String(t.B).padStart(8)} ${t.unit}  B/A ${t.ratioBA}  cpu B/A ${t.emulatorCpu.ratioBA}\n`,
      );
    process.stdout.write(
      `target B/A >= 0.95: ${result.met ? 'met' : 'NOT met'}; written to ${path.relative(ROOT, args.out)}\n`,
    );
  } finally {
    for (const e of emus) e.proc.kill('SIGTERM');
    agent.destroy();
    fs.rmSync(baseRoot, { recursive: true, force: true });
    if (headRoot !== ROOT) fs.rmSync(headRoot, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`emulator-ab: ${(e as Error)?.stack ?? String(e)}\n`);
  process.exit(1);
});
