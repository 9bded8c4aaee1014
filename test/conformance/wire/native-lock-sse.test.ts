/**
 * Server-side encryption (docs/b2-api.md §8) and Object Lock (§9) on the native API: bucket default
 * SSE-B2, SSE-C keys required on download, retention/legal-hold headers, locked versions refused
 * for deletion, governance bypass, compliance only extended.
 */
import { createHash, randomBytes } from 'crypto';
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { bucketName, Session, wire } from './native-helpers';

let emu: RunningEmulator;
let s: Session;
beforeAll(async () => {
  emu = await startEmulator();
  s = await Session.master(emu);
});
afterAll(async () => {
  await emu?.stop();
});

const DAY = 86_400_000;

describe('server-side encryption', () => {
  test('bucket default SSE-B2 applies to uploads and shows in headers', async () => {
    const b = await s.createBucket(bucketName('sse'), {
      defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' },
    });
    const f = await s.uploadOk(b.bucketId, 'e.txt', 'enc');
    expect(f.serverSideEncryption).toEqual({ mode: 'SSE-B2', algorithm: 'AES256' });
    const r = await fetch(`${emu.url}/file/${b.bucketName}/e.txt`, { headers: { authorization: s.token } });
    expect(r.headers.get('x-bz-server-side-encryption')).toBe('AES256');
  });

  test('SSE-C: key headers required and checked on download', async () => {
    const b = await s.createBucket(bucketName('ssec'));
    const key = randomBytes(32);
    const sseC = {
      'x-bz-server-side-encryption-customer-algorithm': 'AES256',
      'x-bz-server-side-encryption-customer-key': key.toString('base64'),
      'x-bz-server-side-encryption-customer-key-md5': createHash('md5').update(key).digest('base64'),
    };
    const f = await s.uploadOk(b.bucketId, 'c.txt', 'secret', sseC);
    expect(f.serverSideEncryption).toEqual({ mode: 'SSE-C', algorithm: 'AES256' });
    const none = await wire(`${emu.url}/file/${b.bucketName}/c.txt`, { headers: { authorization: s.token } });
    expect([none.status, none.json.code]).toEqual([403, 'access_denied']);
    const other = randomBytes(32);
    const wrong = await wire(`${emu.url}/file/${b.bucketName}/c.txt`, {
      headers: {
        authorization: s.token,
        'x-bz-server-side-encryption-customer-algorithm': 'AES256',
        'x-bz-server-side-encryption-customer-key': other.toString('base64'),
        'x-bz-server-side-encryption-customer-key-md5': createHash('md5').update(other).digest('base64'),
      },
    });
    expect(wrong.status).toBe(403);
    const ok = await wire(`${emu.url}/file/${b.bucketName}/c.txt`, {
      headers: { authorization: s.token, ...sseC },
    });
    expect([ok.status, ok.text]).toEqual([200, 'secret']);
    const badMd5 = await s.upload(b.bucketId, 'd.txt', 'x', {
      ...sseC,
      'x-bz-server-side-encryption-customer-key-md5': 'AAAA',
    });
    expect(badMd5.status).toBe(400);
  });
});

describe('object lock', () => {
  let b: { bucketId: string; bucketName: string };
  beforeAll(async () => {
    b = await s.createBucket(bucketName('lock'), { fileLockEnabled: true });
  });

  test('retention on a non-lock bucket → bucket_missing_file_lock', async () => {
    const plain = await s.createBucket(bucketName('nolock'));
    const r = await s.upload(plain.bucketId, 'x', 'x', {
      'x-bz-file-retention-mode': 'governance',
      'x-bz-file-retention-retain-until-timestamp': String(Date.now() + DAY),
    });
    expect([r.status, r.json.code]).toEqual([400, 'bucket_missing_file_lock']);
  });

  test('governance: delete refused without bypass, allowed with bypassGovernance', async () => {
    const f = await s.uploadOk(b.bucketId, 'g.txt', 'g', {
      'x-bz-file-retention-mode': 'governance',
      'x-bz-file-retention-retain-until-timestamp': String(Date.now() + DAY),
    });
    expect(f.fileRetention.value.mode).toBe('governance');
    const dl = await fetch(`${emu.url}/file/${b.bucketName}/g.txt`, { headers: { authorization: s.token } });
    expect(dl.headers.get('x-bz-file-retention-mode')).toBe('governance');
    const refused = await s.call('b2_delete_file_version', { fileId: f.fileId, fileName: 'g.txt' });
    expect([refused.status, refused.json.code]).toEqual([403, 'access_denied']);
    // hiding is still allowed
    await s.ok('b2_hide_file', { bucketId: b.bucketId, fileName: 'g.txt' });
    const ok = await s.call('b2_delete_file_version', {
      fileId: f.fileId,
      fileName: 'g.txt',
      bypassGovernance: true,
    });
    expect(ok.status).toBe(200);
  });

  test('compliance: only extended; legal hold blocks deletion until released', async () => {
    const until = Date.now() + DAY;
    const f = await s.uploadOk(b.bucketId, 'c.txt', 'c', {
      'x-bz-file-retention-mode': 'compliance',
      'x-bz-file-retention-retain-until-timestamp': String(until),
      'x-bz-file-legal-hold': 'on',
    });
    const shorten = await s.call('b2_update_file_retention', {
      fileId: f.fileId,
      fileName: 'c.txt',
      fileRetention: { mode: 'compliance', retainUntilTimestamp: until - 1000 },
      bypassGovernance: true,
    });
    expect(shorten.status).toBe(403);
    const extend = await s.ok('b2_update_file_retention', {
      fileId: f.fileId,
      fileName: 'c.txt',
      fileRetention: { mode: 'compliance', retainUntilTimestamp: until + DAY },
    });
    expect(extend.fileRetention.retainUntilTimestamp).toBe(until + DAY);
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 3 * 86400 });
    s = await Session.master(emu); // the old token expired with the clock
    const held = await s.call('b2_delete_file_version', { fileId: f.fileId, fileName: 'c.txt' });
    expect(held.status).toBe(403);
    expect(held.json.message).toMatch(/legal hold/);
    const off = await s.ok('b2_update_file_legal_hold', {
      fileId: f.fileId,
      fileName: 'c.txt',
      legalHold: 'off',
    });
    expect(off).toEqual({ fileId: f.fileId, fileName: 'c.txt', legalHold: 'off' });
    expect((await s.call('b2_delete_file_version', { fileId: f.fileId, fileName: 'c.txt' })).status).toBe(
      200,
    );
  });

  test('bucket default retention applies to new files', async () => {
    const d = await s.createBucket(bucketName('lockdef'), {
      fileLockEnabled: true,
      defaultRetention: { mode: 'governance', period: { duration: 2, unit: 'days' } },
    });
    const f = await s.uploadOk(d.bucketId, 'x', 'x');
    expect(f.fileRetention.value.mode).toBe('governance');
    expect(f.fileRetention.value.retainUntilTimestamp).toBeGreaterThan(Date.now() + DAY);
  });

  test('keys without read capabilities see guarded lock fields', async () => {
    const f = await s.uploadOk(b.bucketId, 'r.txt', 'r');
    const k = await s.ok('b2_create_key', {
      accountId: s.accountId,
      keyName: 'noread',
      capabilities: ['readFiles'],
    });
    const ks = await Session.open(emu.url, 2, k.applicationKeyId, k.applicationKey);
    const info = await ks.ok('b2_get_file_info', { fileId: f.fileId });
    expect(info.fileRetention).toEqual({ isClientAuthorizedToRead: false, value: null });
    expect(info.legalHold).toEqual({ isClientAuthorizedToRead: false, value: null });
    const dl = await fetch(`${emu.url}/file/${b.bucketName}/r.txt`, { headers: { authorization: ks.token } });
    expect(dl.headers.get('x-bz-client-unauthorized-to-read')).toMatch(/X-Bz-File-Retention-Mode/);
  });
});
