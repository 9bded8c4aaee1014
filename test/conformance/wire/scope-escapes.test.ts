/**
 * Key-scope escapes found by a security review, each refused with B2's status and code on both
 * APIs (docs/b2-key-scope.md): lifecycle rules outside a key's name prefix, Object Lock reads
 * outside it, copy sources evaluated before the read-scope check (existence and ETag oracle),
 * prefix-restricted keys minting wider keys, upload URLs and download authorizations outliving
 * their key, and the key secret compared in constant time.
 */
import { Clock } from '../../../emulator/core/clock';
import { Engine } from '../../../emulator/core/engine';
import { MemoryStore } from '../../../emulator/store/memory';
import { startS3Env, s3raw, type S3Env } from './s3helpers';
import { Session, bucketName, sha1, wire } from './native-helpers';

let env: S3Env;
let m: Session; // master, v3
let bucket: { bucketId: string; bucketName: string };
let locked: { bucketId: string; bucketName: string };

beforeAll(async () => {
  env = await startS3Env();
  m = await Session.master(env.emu, 3);
  bucket = await m.createBucket(bucketName('scope'));
  locked = await m.createBucket(bucketName('scopelock'), { fileLockEnabled: true });
  for (const b of [bucket, locked])
    for (const n of ['teamA/a.txt', 'teamB/b.txt']) await m.uploadOk(b.bucketId, n, `data of ${n}`);
}, 30_000);

afterAll(async () => {
  await env?.stop();
});

async function key(
  capabilities: string[],
  opts: { bucketId?: string; namePrefix?: string; validDurationInSeconds?: number } = {},
) {
  const k = await m.ok('b2_create_key', {
    accountId: m.accountId,
    keyName: `k${Date.now()}${Math.random().toString(36).slice(2, 6)}`,
    capabilities,
    ...opts,
  });
  return { keyId: k.applicationKeyId as string, secret: k.applicationKey as string };
}

const lifecycleXml = (...prefixes: string[]) =>
  `<LifecycleConfiguration>${prefixes
    .map(
      (p, i) =>
        `<Rule><ID>r${i}</ID><Filter><Prefix>${p}</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>1</NoncurrentDays></NoncurrentVersionExpiration></Rule>`,
    )
    .join('')}</LifecycleConfiguration>`;

const rulesOf = async () =>
  (await m.ok('b2_list_buckets', { accountId: m.accountId, bucketId: bucket.bucketId })).buckets[0]
    .lifecycleRules;

describe('lifecycle rules stay inside the key name prefix', () => {
  let k: { keyId: string; secret: string };
  beforeAll(async () => {
    await m.ok('b2_update_bucket', {
      accountId: m.accountId,
      bucketId: bucket.bucketId,
      lifecycleRules: [
        { fileNamePrefix: 'teamB/', daysFromHidingToDeleting: 30, daysFromUploadingToHiding: null },
      ],
    });
    k = await key(['writeBucketLifecycleRules', 'readBucketLifecycleRules', 'listBuckets', 'listFiles'], {
      bucketId: bucket.bucketId,
      namePrefix: 'teamA/',
    });
  });

  test.each(['', 'team', 'teamB/'])(
    'S3 PutBucketLifecycleConfiguration with a rule on "%s" → 403 AccessDenied, rules unchanged',
    async (prefix) => {
      const before = await rulesOf();
      const r = await s3raw(env, 'PUT', `/${bucket.bucketName}`, {
        query: { lifecycle: '' },
        body: lifecycleXml(prefix),
        keyId: k.keyId,
        secret: k.secret,
      });
      expect([r.status, r.code]).toEqual([403, 'AccessDenied']);
      expect(await rulesOf()).toEqual(before);
    },
  );

  test('S3 Put that drops another prefix rule → 403; keeping it and adding one inside → 200', async () => {
    const drop = await s3raw(env, 'PUT', `/${bucket.bucketName}`, {
      query: { lifecycle: '' },
      body: lifecycleXml('teamA/'),
      keyId: k.keyId,
      secret: k.secret,
    });
    expect([drop.status, drop.code]).toEqual([403, 'AccessDenied']);
    const keep = lifecycleXml('teamA/old/').replace(
      '</LifecycleConfiguration>',
      `<Rule><ID>b</ID><Filter><Prefix>teamB/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>30</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`,
    );
    const ok = await s3raw(env, 'PUT', `/${bucket.bucketName}`, {
      query: { lifecycle: '' },
      body: keep,
      keyId: k.keyId,
      secret: k.secret,
    });
    expect(ok.status).toBe(200);
    expect((await rulesOf()).map((r: { fileNamePrefix: string }) => r.fileNamePrefix).sort()).toEqual([
      'teamA/old/',
      'teamB/',
    ]);
  });

  test('S3 DeleteBucketLifecycle while a rule outside the prefix exists → 403', async () => {
    const before = await rulesOf();
    const r = await s3raw(env, 'DELETE', `/${bucket.bucketName}`, {
      query: { lifecycle: '' },
      keyId: k.keyId,
      secret: k.secret,
    });
    expect([r.status, r.code]).toEqual([403, 'AccessDenied']);
    expect(await rulesOf()).toEqual(before);
  });

  test('native b2_update_bucket: the same key, the same rules (writeBucketLifecycleRules works natively too)', async () => {
    const s = await Session.open(env.url, 3, k.keyId, k.secret);
    const bad = await s.call('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: bucket.bucketId,
      lifecycleRules: [{ fileNamePrefix: '', daysFromHidingToDeleting: 1, daysFromUploadingToHiding: null }],
    });
    expect([bad.status, bad.json.code]).toEqual([401, 'unauthorized']);
    const current = await rulesOf();
    const ok = await s.call('b2_update_bucket', {
      accountId: s.accountId,
      bucketId: bucket.bucketId,
      lifecycleRules: [
        ...current.filter((r: { fileNamePrefix: string }) => r.fileNamePrefix === 'teamB/'),
        { fileNamePrefix: 'teamA/new/', daysFromHidingToDeleting: 2, daysFromUploadingToHiding: null },
      ],
    });
    expect(ok.status).toBe(200);
  });

  test('a prefix key with writeBuckets cannot make the bucket public or change other bucket-wide settings', async () => {
    const w = await key(['writeBuckets', 'listBuckets'], { namePrefix: 'teamA/' });
    const s = await Session.open(env.url, 3, w.keyId, w.secret);
    for (const change of [
      { bucketType: 'allPublic' },
      { bucketInfo: { a: 'b' } },
      { defaultServerSideEncryption: { mode: 'SSE-B2', algorithm: 'AES256' } },
    ]) {
      const r = await s.call('b2_update_bucket', {
        accountId: s.accountId,
        bucketId: bucket.bucketId,
        ...change,
      });
      expect([r.status, r.json.code]).toEqual([401, 'unauthorized']);
    }
  });
});

describe('Object Lock reads and writes honour the name prefix on S3', () => {
  test.each([
    ['GET', 'retention'],
    ['GET', 'legal-hold'],
    ['PUT', 'retention'],
    ['PUT', 'legal-hold'],
  ])(
    '%s ?%s outside the prefix → 403 AccessDenied, same for existing and missing names',
    async (method, sub) => {
      const k = await key(
        [
          'readFiles',
          'listFiles',
          'readFileRetentions',
          'readFileLegalHolds',
          'writeFileRetentions',
          'writeFileLegalHolds',
        ],
        { namePrefix: 'teamA/' },
      );
      const body =
        method === 'PUT'
          ? sub === 'retention'
            ? '<Retention><Mode>GOVERNANCE</Mode><RetainUntilDate>2099-01-01T00:00:00Z</RetainUntilDate></Retention>'
            : '<LegalHold><Status>ON</Status></LegalHold>'
          : undefined;
      for (const name of ['teamB/b.txt', 'teamB/missing.txt']) {
        const r = await s3raw(env, method, `/${locked.bucketName}/${name}`, {
          query: { [sub]: '' },
          body,
          keyId: k.keyId,
          secret: k.secret,
        });
        expect([name, r.status, r.code]).toEqual([name, 403, 'AccessDenied']);
      }
      const inside = await s3raw(env, 'GET', `/${locked.bucketName}/teamA/a.txt`, {
        query: { 'legal-hold': '' },
        keyId: k.keyId,
        secret: k.secret,
      });
      expect(inside.status).toBe(200);
    },
  );
});

describe('copy sources: read scope before anything about the source', () => {
  let k: { keyId: string; secret: string };
  let etagB: string;
  beforeAll(async () => {
    k = await key(['readFiles', 'writeFiles', 'listFiles'], { namePrefix: 'teamA/' });
    const head = await s3raw(env, 'HEAD', `/${bucket.bucketName}/teamB/b.txt`);
    etagB = head.headers.get('etag')!;
  });

  test('CopyObject from outside the prefix: the same 403 for an existing, a missing, a matching and a mismatching source', async () => {
    const answers = [];
    for (const [src, cond] of [
      ['teamB/b.txt', {}],
      ['teamB/nope.txt', {}],
      ['teamB/b.txt', { 'x-amz-copy-source-if-match': etagB }],
      ['teamB/b.txt', { 'x-amz-copy-source-if-match': '"0000"' }],
      ['teamB/b.txt', { 'x-amz-copy-source-if-none-match': etagB }],
    ] as const) {
      const r = await s3raw(env, 'PUT', `/${bucket.bucketName}/teamA/copy.txt`, {
        headers: { 'x-amz-copy-source': `/${bucket.bucketName}/${src}`, ...cond },
        keyId: k.keyId,
        secret: k.secret,
      });
      answers.push(`${r.status} ${r.code}`);
    }
    expect(answers).toEqual(Array(5).fill('403 AccessDenied'));
  });

  test('UploadPartCopy from outside the prefix: the same 403 for an existing and a missing source', async () => {
    const init = await s3raw(env, 'POST', `/${bucket.bucketName}/teamA/mp`, {
      query: { uploads: '' },
      keyId: k.keyId,
      secret: k.secret,
    });
    const uploadId = /<UploadId>([^<]+)</.exec(init.text)![1]!;
    const answers = [];
    for (const src of ['teamB/b.txt', 'teamB/nope.txt']) {
      const r = await s3raw(env, 'PUT', `/${bucket.bucketName}/teamA/mp`, {
        query: { partNumber: '1', uploadId },
        headers: { 'x-amz-copy-source': `/${bucket.bucketName}/${src}` },
        keyId: k.keyId,
        secret: k.secret,
      });
      answers.push(`${r.status} ${r.code}`);
    }
    expect(answers).toEqual(['403 AccessDenied', '403 AccessDenied']);
  });

  test('a key without readFiles learns nothing about the source either', async () => {
    const w = await key(['writeFiles']);
    const answers = [];
    for (const src of ['teamB/b.txt', 'teamB/nope.txt']) {
      const r = await s3raw(env, 'PUT', `/${bucket.bucketName}/x.txt`, {
        headers: { 'x-amz-copy-source': `/${bucket.bucketName}/${src}` },
        keyId: w.keyId,
        secret: w.secret,
      });
      answers.push(`${r.status} ${r.code}`);
    }
    expect(answers).toEqual(['403 AccessDenied', '403 AccessDenied']);
  });
});

describe('keys never mint wider keys', () => {
  test('a prefix key with writeKeys: no prefix or another prefix → 401; a narrower prefix → 200', async () => {
    const k = await key(['writeKeys', 'listFiles', 'readFiles'], { namePrefix: 'teamA/' });
    const s = await Session.open(env.url, 3, k.keyId, k.secret);
    const create = (extra: Record<string, unknown>) =>
      s.call('b2_create_key', {
        accountId: s.accountId,
        keyName: 'child',
        capabilities: ['readFiles'],
        ...extra,
      });
    for (const extra of [
      {},
      { namePrefix: 'teamB/' },
      { namePrefix: 'team' },
      { namePrefix: '' },
      { bucketId: bucket.bucketId },
      { bucketId: bucket.bucketId, namePrefix: 'x/' },
    ]) {
      const r = await create(extra);
      expect([JSON.stringify(extra), r.status, r.json.code]).toEqual([
        JSON.stringify(extra),
        401,
        'unauthorized',
      ]);
    }
    for (const extra of [
      { namePrefix: 'teamA/' },
      { namePrefix: 'teamA/sub/' },
      { bucketId: bucket.bucketId, namePrefix: 'teamA/x' },
    ]) {
      const r = await create(extra);
      expect([JSON.stringify(extra), r.status]).toEqual([JSON.stringify(extra), 200]);
    }
  });

  test('a bucket-restricted key cannot hold writeKeys at all (so cannot mint keys for other buckets)', async () => {
    const r = await m.call('b2_create_key', {
      accountId: m.accountId,
      keyName: 'nope',
      capabilities: ['writeKeys'],
      bucketId: bucket.bucketId,
    });
    expect(r.status).toBe(400);
  });
});

describe('upload URLs and download authorizations die with their key', () => {
  async function uploadWith(url: { uploadUrl: string; authorizationToken: string }) {
    const body = Buffer.from('late');
    return wire(url.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: url.authorizationToken,
        'x-bz-file-name': 'late.txt',
        'content-type': 'text/plain',
        'x-bz-content-sha1': sha1(body),
      },
      body,
    });
  }
  const dl = () =>
    (m.auth as { apiInfo: { storageApi: { downloadUrl: string } } }).apiInfo.storageApi.downloadUrl;

  test('deleted key: its upload URL and download authorization → 401 bad_auth_token', async () => {
    const k = await key(['writeFiles', 'shareFiles', 'readFiles'], { bucketId: bucket.bucketId });
    const s = await Session.open(env.url, 3, k.keyId, k.secret);
    const up = await s.ok('b2_get_upload_url', { bucketId: bucket.bucketId });
    const da = await s.ok('b2_get_download_authorization', {
      bucketId: bucket.bucketId,
      fileNamePrefix: 'teamA/',
      validDurationInSeconds: 3600,
    });
    await m.ok('b2_delete_key', { applicationKeyId: k.keyId });
    const u = await uploadWith(up);
    expect([u.status, u.json.code]).toEqual([401, 'bad_auth_token']);
    const d = await wire(`${dl()}/file/${bucket.bucketName}/teamA/a.txt`, {
      headers: { authorization: da.authorizationToken },
    });
    expect([d.status, d.json.code]).toEqual([401, 'bad_auth_token']);
  });

  test('expired key: its upload URL and download authorization → 401 expired_auth_token', async () => {
    const k = await key(['writeFiles', 'shareFiles', 'readFiles'], {
      bucketId: bucket.bucketId,
      validDurationInSeconds: 60,
    });
    const s = await Session.open(env.url, 3, k.keyId, k.secret);
    const up = await s.ok('b2_get_upload_url', { bucketId: bucket.bucketId });
    const da = await s.ok('b2_get_download_authorization', {
      bucketId: bucket.bucketId,
      fileNamePrefix: 'teamA/',
      validDurationInSeconds: 3600,
    });
    await env.emu.admin('POST', '/__admin/clock', { advanceSeconds: 61 });
    const u = await uploadWith(up);
    expect([u.status, u.json.code]).toEqual([401, 'expired_auth_token']);
    const d = await wire(
      `${dl()}/file/${bucket.bucketName}/teamA/a.txt?Authorization=${encodeURIComponent(da.authorizationToken)}`,
    );
    expect([d.status, d.json.code]).toEqual([401, 'expired_auth_token']);
    m = await Session.master(env.emu, 3); // the master token is older than the clock jump now
  });
});

test('the key secret is compared in constant time at authorize', () => {
  const engine = new Engine({ region: 'us-west-004', store: new MemoryStore(), clock: new Clock() });
  const { keyId, applicationKey } = engine.masterCredentials();
  // the module object itself (an `import * as` namespace would be a copy under the jest transform)
  const spy = jest.spyOn(require('crypto') as typeof import('crypto'), 'timingSafeEqual');
  try {
    expect(() =>
      engine.authorize(keyId, applicationKey.slice(0, -1) + (applicationKey.endsWith('A') ? 'B' : 'A'), 3),
    ).toThrow(expect.objectContaining({ status: 401, code: 'unauthorized' }));
    expect(() => engine.authorize(keyId, 'short', 3)).toThrow(expect.objectContaining({ status: 401 }));
    expect(engine.authorize(keyId, applicationKey, 3).token).toBeTruthy();
    expect(spy).toHaveBeenCalledTimes(3);
  } finally {
    spy.mockRestore();
  }
});
