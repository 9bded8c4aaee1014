/**
 * The db-dump path uploader on stdin, for benchmarks: `uploadStream` (pooled memory parts, a CRC32
 * checksum header per part, B2 retry policy) exactly as `db-dump` uses it, minus pg_dump and gzip. Prints one JSON line.
 *
 *   gen | node bench/cli/streamUpload.js <key>   (B2_* env as for the CLI; bundled as the CLI is)
 */
import { jobRetryPolicy } from '../../scripts/lib/retry';
import { createS3Client, regionFromEndpoint } from '../../scripts/lib/s3client';
import { SecretString } from '../../infra/b2/secret';
import { uploadStream } from '../../scripts/lib/uploader';
import { choosePartSize, parseSize } from '../../scripts/lib/partSize';

async function main(): Promise<void> {
  // As the CLI does (scripts/cli.ts): no Node-version warning in the measured process.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const key = process.argv[2];
  const env = process.env;
  const policy = jobRetryPolicy();
  const s3 = createS3Client(
    {
      endpoint: env.B2_S3_ENDPOINT!,
      region: regionFromEndpoint(env.B2_S3_ENDPOINT!),
      keyId: env.B2_KEY_ID!,
      applicationKey: new SecretString(env.B2_APPLICATION_KEY!),
    },
    { policy },
  );
  const t0 = Date.now();
  const res = await uploadStream({
    s3,
    bucket: env.B2_BUCKET!,
    key,
    body: process.stdin,
    metadata: { type: 'db-dump', env: 'bench' },
    partSize: choosePartSize(undefined, env.BENCH_PART_SIZE ? parseSize(env.BENCH_PART_SIZE) : undefined),
    concurrency: env.BENCH_CONCURRENCY ? Number(env.BENCH_CONCURRENCY) : undefined,
    memoryBudget: env.BENCH_MEMORY_BUDGET ? parseSize(env.BENCH_MEMORY_BUDGET) : undefined,
    policy,
  });
  process.stdout.write(
    JSON.stringify({
      ...res,
      seconds: (Date.now() - t0) / 1000,
      maxRssKiB: process.resourceUsage().maxRSS,
      retries: policy.stats.retries,
    }) + '\n',
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
