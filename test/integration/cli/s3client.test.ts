/**
 * What the B2-tuned S3 client puts on the wire, captured by a plain HTTP server on 127.0.0.1:
 * path-style URLs, the region from the endpoint in the SigV4 scope, no `x-amz-checksum-*`
 * headers, Content-MD5 + UNSIGNED-PAYLOAD on uploads, a descriptive User-Agent, and B2-shaped
 * retries (Retry-After honoured, retries counted, cap-exceeded not retried).
 */
import { PutObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'crypto';
import * as http from 'http';
import { AddressInfo } from 'net';
import { jobRetryPolicy, RetryPolicy } from '../../../scripts/lib/retry';
import { createS3Client } from '../../../scripts/lib/s3client';
import { SecretString } from '../../../infra/b2/secret';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  at: number;
}

let server: http.Server;
let seen: Seen[] = [];
let script: ((req: http.IncomingMessage, res: http.ServerResponse) => void)[] = [];
let port = 0;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, at: Date.now() });
      const next = script.shift();
      if (next) return next(req, res);
      res.writeHead(200, { etag: '"0"', 'x-amz-version-id': 'v1', 'content-type': 'application/xml' });
      res.end(
        req.method === 'GET'
          ? '<?xml version="1.0"?><ListBucketResult><Name>b</Name><IsTruncated>false</IsTruncated></ListBucketResult>'
          : '',
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  seen = [];
  script = [];
});

function client(policy = jobRetryPolicy({ initialDelayMs: 10, maxDelayMs: 50 })): {
  s3: S3Client;
  policy: RetryPolicy;
} {
  const s3 = createS3Client(
    {
      endpoint: `http://127.0.0.1:${port}`,
      region: 'eu-central-003',
      keyId: '003key',
      applicationKey: new SecretString('K003secret'),
    },
    { policy },
  );
  return { s3, policy };
}

function s3Error(status: number, code: string, message: string, headers: Record<string, string> = {}) {
  return (_req: http.IncomingMessage, res: http.ServerResponse): void => {
    const body = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
    res.writeHead(status, { 'content-type': 'application/xml', ...headers });
    res.end(body);
  };
}

it('sends path-style requests signed for the region, without checksum headers', async () => {
  const { s3 } = client();
  const body = Buffer.from('{"a":1}');
  await s3.send(
    new PutObjectCommand({
      Bucket: 'my-bucket',
      Key: 'configs/a.json',
      Body: body,
      ContentMD5: createHash('md5').update(body).digest('base64'),
    }),
  );
  await s3.send(new ListObjectsV2Command({ Bucket: 'my-bucket', Prefix: 'configs/' }));
  const [put, list] = seen;
  expect(put.url.startsWith('/my-bucket/configs/a.json')).toBe(true);
  expect(list.url).toMatch(/^\/my-bucket\/?\?list-type=2/);
  expect(put.headers.authorization).toMatch(/Credential=003key\/\d{8}\/eu-central-003\/s3\/aws4_request/);
  expect(put.headers['content-md5']).toBe(createHash('md5').update(body).digest('base64'));
  expect(put.headers['x-amz-content-sha256']).toBe('UNSIGNED-PAYLOAD');
  expect(put.headers['user-agent']).toMatch(/infrafabric-backup\/\d+\.\d+\.\d+/);
  for (const s of seen)
    expect(
      Object.keys(s.headers).filter(
        (h) => h.startsWith('x-amz-checksum') || h === 'x-amz-sdk-checksum-algorithm',
      ),
    ).toEqual([]);
  expect(JSON.stringify(seen)).not.toContain('K003secret');
});

it('retries 503 SlowDown honouring Retry-After, then 429, and counts the retries', async () => {
  const { s3, policy } = client();
  script = [
    s3Error(503, 'SlowDown', 'Please reduce your request rate.', { 'retry-after': '1' }),
    s3Error(429, 'TooManyRequests', 'slow down'),
  ];
  await s3.send(new ListObjectsV2Command({ Bucket: 'b' }));
  expect(seen).toHaveLength(3);
  expect(seen[1].at - seen[0].at).toBeGreaterThanOrEqual(950); // Retry-After: 1 s beats the 10 ms base
  expect(policy.stats.retries).toBe(2);
  expect(policy.stats.byKind).toEqual({ throttle: 2 });
});

it('does not retry a 403 cap exceeded', async () => {
  const { s3, policy } = client();
  script = [
    s3Error(
      403,
      'AccessDenied',
      'transaction_cap_exceeded: Cannot perform the operation, transaction cap exceeded',
    ),
  ];
  await expect(s3.send(new ListObjectsV2Command({ Bucket: 'b' }))).rejects.toMatchObject({
    name: 'AccessDenied',
  });
  expect(seen).toHaveLength(1);
  expect(policy.stats.retries).toBe(0);
});
