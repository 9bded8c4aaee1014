/**
 * Error mapping end to end: real errors the emulator produces for bad requests (docs/b2-api.md §6),
 * each arriving as the typed class a caller branches on, with status, code and operation.
 */
import { createHash, randomBytes } from 'crypto';
import {
  AccessDenied,
  B2Client,
  B2Error,
  BadRequest,
  BucketNotFound,
  CapExceeded,
  FileNotFound,
  MethodNotAllowed,
  NotAllowedByKey,
  NotFound,
  clearAuthorizationCache,
} from '../../infra/b2';
import { RunningEmulator, startEmulator } from '../helpers/emulator';

let emu: RunningEmulator;
let c: B2Client;
let bucketId: string;
let bucketName: string;

const sha1 = (b: Buffer) => createHash('sha1').update(b).digest('hex');

async function failure(p: Promise<unknown>): Promise<B2Error> {
  const r = await p.then(
    (v) => ({ ok: true as const, v }),
    (e: unknown) => ({ ok: false as const, e }),
  );
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r.v)}`);
  if (!(r.e instanceof B2Error)) throw r.e;
  return r.e;
}

async function opCount(op: string): Promise<number> {
  const stats = (await emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
  return stats.operations[op] ?? 0;
}

async function drain<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeAll(async () => {
  emu = await startEmulator();
  clearAuthorizationCache();
  c = new B2Client({
    applicationKeyId: emu.info.keyId,
    applicationKey: emu.info.applicationKey,
    realmUrl: emu.url,
    retry: { initialDelayMs: 5, jitterMs: 0, maxDelayMs: 20 },
  });
  bucketName = `errs-${process.pid}-${Date.now() % 100000}`;
  bucketId = (await c.createBucket({ bucketName, bucketType: 'allPrivate' })).bucketId;
});
afterAll(async () => {
  await emu?.stop();
});

describe('errors from the emulator arrive typed', () => {
  it('unknown bucket id → BucketNotFound (400) for delete_bucket and listings', async () => {
    const missing = 'ffffffffffffffffffffffff';
    const del = await failure(c.deleteBucket(missing));
    expect(del).toBeInstanceOf(BucketNotFound);
    expect(del).toBeInstanceOf(NotFound);
    expect(del.status).toBe(400);
    expect(del.code).toBe('bad_bucket_id');
    expect(del.operation).toBe('b2_delete_bucket');
    expect(del.message).toContain(missing);

    const list = await failure(drain(c.listFileNames({ bucketId: missing })));
    expect(list.status).toBe(400);
    // B2 answers invalid_bucket_id (listings) or bad_bucket_id; both are BucketNotFound.
    expect(list).toBeInstanceOf(BucketNotFound);
  });

  it('hide of an unknown name → FileNotFound; delete of an unknown version → FileNotFound', async () => {
    const hide = await failure(c.hideFile(bucketId, 'never/uploaded'));
    expect(hide).toBeInstanceOf(FileNotFound);
    expect(hide.status).toBe(400);

    const f = await c.uploadFile({ bucketId, fileName: 'errs/one', body: 'x' });
    await c.deleteFileVersion(f.fileId!, f.fileName);
    const del = await failure(c.deleteFileVersion(f.fileId!, f.fileName));
    expect(del.status).toBe(400);
    expect(del).toBeInstanceOf(NotFound);
  });

  it('a part whose SHA-1 does not match its bytes → BadRequest, not retried', async () => {
    const auth = await c.authorize();
    const start = await c.startLargeFile({ bucketId, fileName: 'errs/large' });
    const body = randomBytes(auth.absoluteMinimumPartSize);
    const before = c.listParts(start.fileId!);
    expect(await drain(before)).toEqual([]);
    const partCalls = () => opCount('b2_upload_part');
    const callsBefore = await partCalls();
    const err = await failure(c.uploadPart(start.fileId!, 1, body, sha1(Buffer.from('other bytes'))));
    expect(err).toBeInstanceOf(BadRequest);
    expect(await partCalls()).toBe(callsBefore + 1);
    expect(err.operation).toBe('b2_upload_part');
    await c.cancelLargeFile(start.fileId!);
  });

  it('finishing with a part below the minimum size → BadRequest', async () => {
    const start = await c.startLargeFile({ bucketId, fileName: 'errs/small-parts' });
    const p1 = randomBytes(1000);
    const p2 = randomBytes(1000);
    await c.uploadPart(start.fileId!, 1, p1);
    await c.uploadPart(start.fileId!, 2, p2);
    const err = await failure(c.finishLargeFile(start.fileId!, [sha1(p1), sha1(p2)]));
    expect(err).toBeInstanceOf(BadRequest);
    await c.cancelLargeFile(start.fileId!);
  });

  it('a key without a capability, or outside its name prefix → NotAllowedByKey (401)', async () => {
    const readOnly = await c.createKey({
      keyName: 'errs-read-only',
      capabilities: ['listFiles', 'readFiles'],
      bucketId,
      namePrefix: 'public/',
    });
    const ro = new B2Client({
      applicationKeyId: readOnly.applicationKeyId,
      applicationKey: readOnly.applicationKey,
      realmUrl: emu.url,
    });
    const upload = await failure(ro.uploadFile({ bucketId, fileName: 'public/x', body: 'x' }));
    expect(upload).toBeInstanceOf(NotAllowedByKey);
    expect(upload.status).toBe(401);
    expect(upload.code).toBe('unauthorized');

    const outside = await failure(drain(ro.listFileNames({ bucketId, prefix: 'private/' })));
    expect(outside).toBeInstanceOf(NotAllowedByKey);

    const keys = await failure(drain(ro.listKeys()));
    expect(keys).toBeInstanceOf(NotAllowedByKey);
    await c.deleteKey(readOnly.applicationKeyId);
  });

  it('a deleted key can no longer authorize', async () => {
    const k = await c.createKey({ keyName: 'errs-deleted', capabilities: ['listBuckets'] });
    await c.deleteKey(k.applicationKeyId);
    clearAuthorizationCache();
    const gone = new B2Client({
      applicationKeyId: k.applicationKeyId,
      applicationKey: k.applicationKey,
      realmUrl: emu.url,
    });
    const err = await failure(gone.authorize());
    expect(err.status).toBe(401);
    expect(err.name).toBe('InvalidCredentials');
    expect(err.message).not.toContain(k.applicationKey.reveal());
  });

  it('invalid bucket settings → BadRequest naming the problem', async () => {
    const overlap = await failure(
      c.updateBucket({
        bucketId,
        lifecycleRules: [
          { fileNamePrefix: 'photos/', daysFromUploadingToHiding: 1, daysFromHidingToDeleting: null },
          { fileNamePrefix: 'photos/kittens/', daysFromUploadingToHiding: 2, daysFromHidingToDeleting: null },
        ],
      }),
    );
    expect(overlap).toBeInstanceOf(BadRequest);
    expect(overlap.status).toBe(400);

    const badName = await failure(
      c.createBucket({ bucketName: 'b2-reserved-prefix', bucketType: 'allPrivate' }),
    );
    expect(badName).toBeInstanceOf(BadRequest);
  });

  it('injected caps and access errors map to CapExceeded / AccessDenied; 405 to MethodNotAllowed', async () => {
    await emu.admin('POST', '/__admin/faults', {
      operation: 'b2_list_buckets',
      status: 403,
      code: 'transaction_cap_exceeded',
      count: 1,
    });
    const cap = await failure(c.listBuckets());
    expect(cap).toBeInstanceOf(CapExceeded);
    expect(cap).toBeInstanceOf(AccessDenied);
    expect(cap.retryable).toBe(false);

    await emu.admin('POST', '/__admin/faults', {
      operation: 'b2_list_buckets',
      status: 405,
      code: 'method_not_allowed',
      count: 1,
    });
    expect(await failure(c.listBuckets())).toBeInstanceOf(MethodNotAllowed);
  });

  it('a blank 5xx body from the server maps by status with code "unknown"', async () => {
    // The fault API always writes a JSON body; an empty code exercises the same fallback.
    await emu.admin('POST', '/__admin/faults', {
      operation: 'b2_get_file_info',
      status: 502,
      code: '',
      count: 2,
    });
    const f = await c.uploadFile({ bucketId, fileName: 'errs/info', body: 'x' });
    const strict = new B2Client({
      applicationKeyId: emu.info.keyId,
      applicationKey: emu.info.applicationKey,
      realmUrl: emu.url,
      retry: { maxAttempts: 2, initialDelayMs: 1, jitterMs: 0 },
    });
    const err = await failure(strict.getFileInfo(f.fileId!));
    expect(err.status).toBe(502);
    expect(err.name).toBe('ServiceError');
    expect(err.code).toBe('unknown');
    await expect(strict.getFileInfo(f.fileId!)).resolves.toMatchObject({ fileId: f.fileId }); // both faults used
  });
});
