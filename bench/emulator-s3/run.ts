/**
 * Benchmark: a 1 GiB object through the emulator's S3-compatible API with the aws CLI v2
 * (/usr/bin/aws, default transfer settings: 8 MiB parts, 10 concurrent requests — multipart
 * upload, then `s3 cp` download), next to the native path in the same run and on the same
 * emulator: the same bytes as a B2 large file with plain HTTP `b2_upload_part` calls (100 MB parts,
 * 4 in parallel, SHA-1s computed before the clock starts, as a client that hashes while reading
 * would overlap it) and a by-name download to a file. The ratios S3/native say what the S3 path
 * (the CLI itself, SigV4 payload hashing, XML) costs relative to the native API. A third upload —
 * the same 100 MB parts ×4 as an S3 multipart upload from node:http with signed payloads (SHA-256
 * computed before the clock starts) — isolates the emulator's S3 layer from the CLI.
 *
 *   node bin/run-ts.js bench/emulator-s3/run.ts [--size-mib 1024] [--runs 1]
 *
 * Writes bench/results/emulator-s3.json. MB/s = 10^6 bytes per second.
 */
import { execFileSync } from 'child_process';
import { createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as os from 'os';
import * as path from 'path';
import { awsEnv, ok, run, s3Encode, S3Env, signer, startS3Env } from '../../test/conformance/wire/s3helpers';

const AWS = '/usr/bin/aws';
const NATIVE_PART = 100_000_000;
const NATIVE_CONCURRENCY = 4;

interface Args {
  sizeMiB: number;
  runs: number;
  out: string;
}

function parseArgs(argv: string[]): Args {
  const args: Args = {
    sizeMiB: 1024,
    runs: 1,
    out: path.resolve(__dirname, '..', 'results', 'emulator-s3.json'),
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    const n = Number(argv[i + 1]);
    if (flag === '--size-mib' || flag === '--runs') {
      if (!Number.isInteger(n) || n < 1)
        throw new Error(`${flag} needs a positive integer, got ${argv[i + 1]}`);
      if (flag === '--size-mib') args.sizeMiB = n;
      else args.runs = n;
      i++;
    } else if (flag === '--out') args.out = path.resolve(argv[++i]);
    else throw new Error(`unknown flag ${flag} (use --size-mib N, --runs N, --out FILE)`);
  }
  return args;
}

const mbps = (bytes: number, seconds: number): number => Math.round((bytes / 1e6 / seconds) * 10) / 10;

function sha256File(file: string): string {
  const h = createHash('sha256');
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(8 << 20);
  for (;;) {
    const n = fs.readSync(fd, buf, 0, buf.length, null);
    if (n === 0) break;
    h.update(buf.subarray(0, n));
  }
  fs.closeSync(fd);
  return h.digest('hex');
}

function writeRandomFile(file: string, bytes: number): void {
  const fd = fs.openSync(file, 'w');
  for (let done = 0; done < bytes;) {
    const n = Math.min(16 << 20, bytes - done);
    fs.writeSync(fd, randomBytes(n));
    done += n;
  }
  fs.closeSync(fd);
}

/** POST a buffer with Node's http (no fetch overhead), resolving to the parsed JSON answer. */
function post(
  url: string,
  headers: Record<string, string>,
  body: Buffer | string,
): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          if (res.statusCode !== 200) reject(new Error(`${url} -> ${res.statusCode} ${text}`));
          else resolve(JSON.parse(text) as Record<string, unknown>);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function partsOf(data: Buffer, size: number): Buffer[] {
  // 100 MB parts for the real run; small trial sizes still get >= 2 parts (B2's minimum).
  const partSize = Math.max(5_000_000, Math.min(NATIVE_PART, Math.ceil(size / NATIVE_CONCURRENCY)));
  const out: Buffer[] = [];
  for (let off = 0; off < size; off += partSize) out.push(data.subarray(off, Math.min(size, off + partSize)));
  return out;
}

/** S3 multipart upload of the same parts from node:http, signed payloads; returns seconds. */
async function s3NodeRun(env: S3Env, bucket: string, data: Buffer, size: number): Promise<number> {
  const sig = signer(env.keyId, env.secret, env.region);
  const url = new URL(env.url);
  const call = async (
    method: string,
    key: string,
    query: Record<string, string>,
    body: Buffer,
    hash: string,
  ) => {
    const path = `/${bucket}/${key}`;
    const signed = await sig.sign({
      method,
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path,
      query,
      headers: { host: url.host, 'x-amz-content-sha256': hash, 'content-length': String(body.length) },
    });
    const qs = Object.entries(query)
      .map(([k, v]) => `${s3Encode(k)}=${s3Encode(v)}`)
      .join('&');
    return new Promise<{ etag: string; text: string }>((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          path: `${path}${qs ? '?' + qs : ''}`,
          method,
          headers: signed.headers,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString();
            if (res.statusCode !== 200)
              reject(new Error(`S3 ${method} ${path} -> ${res.statusCode} ${text}`));
            else resolve({ etag: String(res.headers.etag ?? ''), text });
          });
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
  const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
  const parts = partsOf(data, size).map((buf, i) => ({ n: i + 1, buf, sha256: sha(buf), etag: '' }));
  const empty = Buffer.alloc(0);
  const t0 = process.hrtime.bigint();
  const created = await call('POST', 'node/big.bin', { uploads: '' }, empty, sha(empty));
  const uploadId = /<UploadId>([^<]+)/.exec(created.text)![1];
  let next = 0;
  await Promise.all(
    Array.from({ length: NATIVE_CONCURRENCY }, async () => {
      for (;;) {
        const p = parts[next++];
        if (!p) return;
        p.etag = (
          await call('PUT', 'node/big.bin', { partNumber: String(p.n), uploadId }, p.buf, p.sha256)
        ).etag;
      }
    }),
  );
  const xml = Buffer.from(
    `<CompleteMultipartUpload>${parts.map((p) => `<Part><PartNumber>${p.n}</PartNumber><ETag>${p.etag}</ETag></Part>`).join('')}</CompleteMultipartUpload>`,
  );
  await call('POST', 'node/big.bin', { uploadId }, xml, sha(xml));
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function nativeRun(
  env: S3Env,
  bucketId: string,
  bucketName: string,
  file: string,
  size: number,
  outFile: string,
): Promise<{ upload: number; download: number }> {
  const auth = await fetch(`${env.url}/b2api/v2/b2_authorize_account`, {
    headers: { authorization: 'Basic ' + Buffer.from(`${env.keyId}:${env.secret}`).toString('base64') },
  });
  const a = (await auth.json()) as { apiUrl: string; authorizationToken: string; downloadUrl: string };
  const api = (call: string, body: unknown) =>
    post(
      `${a.apiUrl}/b2api/v2/${call}`,
      { authorization: a.authorizationToken, 'content-type': 'application/json' },
      JSON.stringify(body),
    );
  // Parts read and hashed before timing.
  const data = fs.readFileSync(file);
  const parts = partsOf(data, size).map((buf, i) => ({
    n: i + 1,
    buf,
    sha1: createHash('sha1').update(buf).digest('hex'),
  }));
  const t0 = process.hrtime.bigint();
  const start = await api('b2_start_large_file', {
    bucketId,
    fileName: 'native/big.bin',
    contentType: 'application/octet-stream',
  });
  const fileId = start.fileId as string;
  let next = 0;
  await Promise.all(
    Array.from({ length: NATIVE_CONCURRENCY }, async () => {
      const url = await api('b2_get_upload_part_url', { fileId });
      for (;;) {
        const p = parts[next++];
        if (!p) return;
        await post(
          url.uploadUrl as string,
          {
            authorization: url.authorizationToken as string,
            'x-bz-part-number': String(p.n),
            'x-bz-content-sha1': p.sha1,
          },
          p.buf,
        );
      }
    }),
  );
  await api('b2_finish_large_file', { fileId, partSha1Array: parts.map((p) => p.sha1) });
  const upload = Number(process.hrtime.bigint() - t0) / 1e9;

  const t1 = process.hrtime.bigint();
  await new Promise<void>((resolve, reject) => {
    http
      .get(
        `${a.downloadUrl}/file/${bucketName}/native/big.bin`,
        { headers: { authorization: a.authorizationToken } },
        (res) => {
          if (res.statusCode !== 200) return reject(new Error(`native download -> ${res.statusCode}`));
          const out = fs.createWriteStream(outFile);
          res.pipe(out);
          out.on('finish', () => resolve());
          out.on('error', reject);
        },
      )
      .on('error', reject);
  });
  const download = Number(process.hrtime.bigint() - t1) / 1e9;
  return { upload, download };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (!fs.existsSync(AWS))
    throw new Error(`${AWS} is missing: run "node tools/setup.js" (installs Debian awscli)`);
  const size = args.sizeMiB * 1024 * 1024;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-s3-'));
  const src = path.join(dir, 'src.bin');
  process.stderr.write(`writing ${args.sizeMiB} MiB of random data...\n`);
  writeRandomFile(src, size);
  const srcSha = sha256File(src);
  const awsVersion = execFileSync(AWS, ['--version'], { env: { PATH: process.env.PATH } })
    .toString()
    .trim();
  const runs: Array<Record<string, number>> = [];
  try {
    for (let r = 0; r < args.runs; r++) {
      const env = await startS3Env();
      try {
        const e = awsEnv(env, dir);
        const bucket = `bench-s3-${r}`;
        ok(
          await run(AWS, ['--endpoint-url', env.url, 's3', 'mb', `s3://${bucket}`], { env: e }),
          'aws s3 mb',
        );
        process.stderr.write(`run ${r + 1}: aws s3 cp upload...\n`);
        let t = process.hrtime.bigint();
        ok(
          await run(
            AWS,
            ['--endpoint-url', env.url, 's3', 'cp', '--only-show-errors', src, `s3://${bucket}/s3/big.bin`],
            { env: e, timeoutMs: 1_800_000 },
          ),
          'aws s3 cp up',
        );
        const s3Up = Number(process.hrtime.bigint() - t) / 1e9;
        const back = path.join(dir, 'back-s3.bin');
        process.stderr.write(`run ${r + 1}: aws s3 cp download...\n`);
        t = process.hrtime.bigint();
        ok(
          await run(
            AWS,
            ['--endpoint-url', env.url, 's3', 'cp', '--only-show-errors', `s3://${bucket}/s3/big.bin`, back],
            { env: e, timeoutMs: 1_800_000 },
          ),
          'aws s3 cp down',
        );
        const s3Down = Number(process.hrtime.bigint() - t) / 1e9;
        if (sha256File(back) !== srcSha) throw new Error('aws CLI download differs from the uploaded bytes');
        fs.rmSync(back);

        const list = (await env.native('b2_list_buckets', {
          accountId: env.accountId,
          bucketName: bucket,
        })) as { buckets: Array<{ bucketId: string }> };
        process.stderr.write(`run ${r + 1}: native upload/download...\n`);
        const nativeBack = path.join(dir, 'back-native.bin');
        const n = await nativeRun(env, list.buckets[0].bucketId, bucket, src, size, nativeBack);
        process.stderr.write(`run ${r + 1}: S3 multipart from node:http...\n`);
        const s3Node = await s3NodeRun(env, bucket, fs.readFileSync(src), size);
        if (sha256File(nativeBack) !== srcSha)
          throw new Error('native download differs from the uploaded bytes');
        fs.rmSync(nativeBack);
        runs.push({
          s3UploadSeconds: Math.round(s3Up * 100) / 100,
          s3UploadMBps: mbps(size, s3Up),
          s3DownloadSeconds: Math.round(s3Down * 100) / 100,
          s3DownloadMBps: mbps(size, s3Down),
          nativeUploadSeconds: Math.round(n.upload * 100) / 100,
          nativeUploadMBps: mbps(size, n.upload),
          nativeDownloadSeconds: Math.round(n.download * 100) / 100,
          nativeDownloadMBps: mbps(size, n.download),
          uploadRatioS3ToNative: Math.round((n.upload / s3Up) * 100) / 100,
          downloadRatioS3ToNative: Math.round((n.download / s3Down) * 100) / 100,
          s3NodeUploadSeconds: Math.round(s3Node * 100) / 100,
          s3NodeUploadMBps: mbps(size, s3Node),
          uploadRatioS3NodeToNative: Math.round((n.upload / s3Node) * 100) / 100,
        });
        process.stderr.write(`run ${r + 1}: ${JSON.stringify(runs[runs.length - 1])}\n`);
      } finally {
        await env.stop();
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const sorted = [...runs].sort((x, y) => x.s3UploadSeconds - y.s3UploadSeconds);
  const headline = sorted[Math.floor(sorted.length / 2)];
  const result = {
    benchmark: 'emulator-s3',
    date: new Date().toISOString(),
    sizeBytes: size,
    client: awsVersion,
    clientSettings:
      'aws CLI defaults: multipart_threshold 8 MiB, multipart_chunksize 8 MiB, max_concurrent_requests 10; payload signed (SHA-256) over http',
    native: `plain node:http b2_upload_part, ${NATIVE_PART} B parts, ${NATIVE_CONCURRENCY} parallel; by-name download to a file`,
    s3Node: `node:http S3 multipart (signed payloads), same parts and parallelism as native`,
    emulator: 'b2-local --memory, one process',
    machine: {
      cpus: os.cpus().length,
      loadavg1: Math.round(os.loadavg()[0] * 10) / 10,
      node: process.version,
    },
    headline,
    runs,
  };
  fs.mkdirSync(path.dirname(args.out), { recursive: true });
  fs.writeFileSync(args.out, JSON.stringify(result, null, 2) + '\n');
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench/emulator-s3: ${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
