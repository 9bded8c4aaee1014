/**
 * Transport-level behaviour of `http.ts` against a tiny local server on 127.0.0.1: things the
 * emulator cannot easily produce on demand (HTML bodies, a hung response). B2 semantics are
 * tested against the emulator in test/integration/b2client.test.ts.
 */
import * as http from 'http';
import { AddressInfo } from 'net';
import { HttpClient, DEFAULT_USER_AGENT } from '../../../infra/b2/http';
import { OutcomeUnknown, RetryPolicy } from '../../../infra/b2/retry';
import * as E from '../../../infra/b2/errors';
import { fakeClock } from '../../helpers/fakeClock';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, n: number) => void;

let server: http.Server;
let url: string;
let handler: Handler;
let seen: { headers: http.IncomingHttpHeaders; body: string }[];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString() });
      handler(req, res, seen.length);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});
beforeEach(() => {
  seen = [];
});

const TOKEN = '4_002secretAccountToken_xyz';

function client(opts: { requestTimeoutMs?: number } = {}) {
  const clock = fakeClock();
  const policy = new RetryPolicy({ jitterMs: 0 }, { clock, random: () => 0 });
  return { clock, http: new HttpClient({ policy, requestTimeoutMs: opts.requestTimeoutMs }) };
}

function json(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const call = (h: HttpClient) =>
  h.json<{ ok: boolean }>({
    url: `${url}/b2api/v3/b2_list_buckets`,
    authorization: TOKEN,
    body: { accountId: 'a1' },
    context: { operation: 'b2_list_buckets', secrets: [TOKEN] },
  });

describe('HttpClient', () => {
  it('sends JSON with the token and User-Agent, decodes the answer', async () => {
    handler = (_q, res) => json(res, 200, { ok: true });
    const { http: h } = client();
    await expect(call(h)).resolves.toEqual({ ok: true });
    expect(seen).toHaveLength(1);
    expect(seen[0].headers.authorization).toBe(TOKEN);
    expect(seen[0].headers['user-agent']).toBe(DEFAULT_USER_AGENT);
    expect(DEFAULT_USER_AGENT).toMatch(/^infrafabric-backup\/\d+\.\d+\.\d+/);
    expect(JSON.parse(seen[0].body)).toEqual({ accountId: 'a1' });
  });

  it('retries a reset connection, then succeeds', async () => {
    handler = (req, res, n) => (n === 1 ? req.socket.destroy() : json(res, 200, { ok: true }));
    const { http: h, clock } = client();
    await expect(call(h)).resolves.toEqual({ ok: true });
    expect(seen).toHaveLength(2);
    expect(clock.waits).toEqual([1000]);
  });

  it('does not resend a non-idempotent call whose answer was lost: OutcomeUnknown, one request', async () => {
    handler = (req) => req.socket.destroy(); // B2 may have created the key; the answer is gone
    const { http: h, clock } = client();
    const err = await h
      .json({
        url: `${url}/b2api/v3/b2_create_key`,
        authorization: TOKEN,
        body: { keyName: 'k' },
        context: { operation: 'b2_create_key', secrets: [TOKEN] },
        idempotent: false,
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OutcomeUnknown);
    expect((err as OutcomeUnknown).operation).toBe('b2_create_key');
    expect((err as Error).cause).toBeInstanceOf(E.ConnectionError);
    expect((err as Error).message).not.toContain(TOKEN);
    expect(seen).toHaveLength(1);
    expect(clock.waits).toEqual([]);
  });

  it('still retries a non-idempotent call B2 said it did not do (503), then succeeds', async () => {
    handler = (_q, res, n) =>
      n === 1
        ? json(res, 503, { status: 503, code: 'service_unavailable', message: 'busy' })
        : json(res, 200, { ok: true });
    const { http: h } = client();
    await expect(
      h.json({
        url: `${url}/b2api/v3/b2_create_key`,
        authorization: TOKEN,
        body: {},
        context: { operation: 'b2_create_key' },
        idempotent: false,
      }),
    ).resolves.toEqual({ ok: true });
    expect(seen).toHaveLength(2);
  });

  it('retries 503 with an HTML body honouring Retry-After, then succeeds', async () => {
    handler = (_q, res, n) => {
      if (n === 1) {
        res.writeHead(503, { 'content-type': 'text/html', 'retry-after': '4' });
        res.end('<html><body>Service Unavailable</body></html>');
      } else json(res, 200, { ok: true });
    };
    const { http: h, clock } = client();
    await expect(call(h)).resolves.toEqual({ ok: true });
    expect(clock.waits).toEqual([4000]);
  });

  it('maps a blank 500 to InternalError with code unknown after exhausting attempts', async () => {
    handler = (_q, res) => {
      res.writeHead(500);
      res.end();
    };
    const { http: h, clock } = client();
    const err = await call(h).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(E.InternalError);
    expect((err as E.B2Error).code).toBe('unknown');
    expect(seen).toHaveLength(5);
    expect(clock.waits).toEqual([1000, 1500, 2250, 3375]);
  });

  it('never retries a 400 and maps the B2 body', async () => {
    handler = (_q, res) =>
      json(res, 400, {
        status: 400,
        code: 'duplicate_bucket_name',
        message: 'Bucket name is already in use.',
      });
    const { http: h } = client();
    const err = (await call(h).catch((e: unknown) => e)) as E.B2Error;
    expect(err).toBeInstanceOf(E.DuplicateBucketName);
    expect(err.message).toBe(
      'b2_list_buckets failed: 400 duplicate_bucket_name: Bucket name is already in use.',
    );
    expect(seen).toHaveLength(1);
  });

  it('maps 429 with Retry-After and retries once the wait is over', async () => {
    handler = (_q, res, n) =>
      n === 1
        ? json(res, 429, { status: 429, code: 'too_many_requests', message: 'slow' }, { 'retry-after': '2' })
        : json(res, 200, { ok: true });
    const { http: h, clock } = client();
    await call(h);
    expect(clock.waits).toEqual([2000]);
  });

  it('times out a hung response and retries it; no token in the error', async () => {
    handler = () => {
      /* never answer */
    };
    const { http: h } = client({ requestTimeoutMs: 150 });
    const err = (await call(h).catch((e: unknown) => e)) as E.B2Error;
    expect(err).toBeInstanceOf(E.ConnectionError);
    expect(err.code).toBe('timeout');
    expect(seen).toHaveLength(5);
    expect(JSON.stringify(err) + err.message + String(err.stack)).not.toContain(TOKEN);
  });

  it('a 200 with a non-JSON body is an UnexpectedResponse, not retried', async () => {
    handler = (_q, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html>captive portal</html>');
    };
    const { http: h } = client();
    const err = await call(h).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(E.UnexpectedResponse);
    expect(seen).toHaveLength(1);
  });

  it('connection refused is a retryable ConnectionError', async () => {
    const dead = http.createServer();
    await new Promise<void>((r) => dead.listen(0, '127.0.0.1', () => r()));
    const port = (dead.address() as AddressInfo).port;
    await new Promise((r) => dead.close(r));
    const { http: h, clock } = client();
    const err = (await h
      .json({ url: `http://127.0.0.1:${port}/x`, context: { operation: 'b2_authorize_account' } })
      .catch((e: unknown) => e)) as E.B2Error;
    expect(err).toBeInstanceOf(E.ConnectionError);
    expect(err.code).toBe('connection_refused');
    expect(clock.waits).toHaveLength(4);
  });

  it('uploads are sent exactly once (the session retries them on a fresh URL)', async () => {
    handler = (_q, res) => json(res, 503, { status: 503, code: 'service_unavailable', message: 'busy' });
    const { http: h } = client();
    const err = await h
      .sendUploadOnce({
        url: `${url}/upload`,
        authorization: 'uploadtok',
        headers: { 'x-bz-file-name': 'a' },
        body: Buffer.from('hello'),
        context: { operation: 'b2_upload_file' },
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(E.ServiceUnavailable);
    expect(seen).toHaveLength(1);
    expect(seen[0].body).toBe('hello');
    expect(seen[0].headers['content-length']).toBe('5');
  });
});
