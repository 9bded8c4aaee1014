/**
 * The key-scope catalogue (docs/b2-key-scope.md): every (capability set, bucket restriction,
 * name prefix) key × every operation, on a name inside and outside the prefix, on the native API
 * and on the S3 API, against one running emulator. The expected answer of each cell comes from
 * the rule in the doc — allowed exactly when the key has the capability, the bucket is inside its
 * restriction and every name the operation touches starts with its prefix — not from the
 * emulator's code. Allowed: 200 (S3 DeleteObject 204); refused: native 401 `unauthorized`, S3 403
 * `AccessDenied`. Where an operation names an object, every refused cell is asked a second time
 * about an object that does not exist: the answer must be the same refusal (scope is checked
 * before anything is looked up, so a refused key cannot probe for names or versions).
 */
import { startS3Env, s3raw, type S3Env } from './s3helpers';
import { Session, bucketName, sha1, wire } from './native-helpers';

interface KeySpec {
  caps: string;
  bucket: 'any' | 'own' | 'other';
  prefix: string | null;
}

const CAPSETS: Record<string, string[]> = {
  reader: ['listFiles', 'readFiles'],
  writer: ['writeFiles'],
  deleter: ['deleteFiles'],
  files: ['listFiles', 'readFiles', 'writeFiles', 'deleteFiles', 'shareFiles'],
  lifecycle: ['writeBucketLifecycleRules'],
  buckets: ['writeBuckets'],
};

// writeBuckets cannot be given to a bucket-restricted key (asserted separately below)
const KEYS: KeySpec[] = Object.keys(CAPSETS).flatMap((caps) =>
  (['any', 'own', 'other'] as const)
    .filter((bucket) => caps !== 'buckets' || bucket === 'any')
    .flatMap((bucket) => [null, 'in/'].map((prefix) => ({ caps, bucket, prefix }))),
);

type Api = 'native' | 's3';
interface Outcome {
  status: number;
  code: string | null;
}
interface Ctx {
  spec: KeySpec;
  caps: Set<string>;
  keyId: string;
  secret: string;
  native: Session | null; // null when authorize itself was refused (it never is here)
  tag: string;
}

interface Op {
  name: string;
  apis: Api[];
  /** The rule: may this key do it, given that every touched name is `inside` or not? */
  allowed(c: Ctx, inside: boolean): boolean;
  run(api: Api, c: Ctx, area: 'in' | 'out'): Promise<Outcome>;
  /** The same operation on an object that does not exist (asked only where it is refused). */
  missing?(api: Api, c: Ctx, area: 'in' | 'out'): Promise<Outcome>;
}

let env: S3Env;
let m: Session;
let target: { bucketId: string; bucketName: string };
let other: { bucketId: string; bucketName: string };
let downloadUrl: string;

const scopeOk = (c: Ctx, inside: boolean): boolean =>
  c.spec.bucket !== 'other' && (c.spec.prefix === null || inside);
const has = (c: Ctx, ...caps: string[]): boolean => caps.every((x) => c.caps.has(x));

const nat = (r: { status: number; json: { code?: string } | null }): Outcome => ({
  status: r.status,
  code: r.json?.code ?? null,
});
const s3o = (r: { status: number; code: string | null }): Outcome => ({ status: r.status, code: r.code });
const s3 = (c: Ctx, method: string, path: string, o: Parameters<typeof s3raw>[3] = {}) =>
  s3raw(env, method, path, { ...o, keyId: c.keyId, secret: c.secret });

/** A well-formed file id of the target bucket that names no version. */
let absentId = '';

/** A file the master writes for one cell (so cells never depend on each other). */
async function fixture(name: string): Promise<string> {
  return (await m.uploadOk(target.bucketId, name, `bytes of ${name}`)).fileId;
}

const OPS: Op[] = [
  {
    name: 'read',
    apis: ['native', 's3'],
    allowed: (c, i) => has(c, 'readFiles') && scopeOk(c, i),
    async run(api, c, area) {
      const name = `${area}/${c.tag}-read-${api}`;
      await fixture(name);
      if (api === 's3') return s3o(await s3(c, 'GET', `/${target.bucketName}/${name}`));
      return nat(
        await wire(`${downloadUrl}/file/${target.bucketName}/${name}`, {
          headers: { authorization: c.native!.token },
        }),
      );
    },
    async missing(api, c, area) {
      const name = `${area}/${c.tag}-never-written`;
      if (api === 's3') return s3o(await s3(c, 'GET', `/${target.bucketName}/${name}`));
      return nat(
        await wire(`${downloadUrl}/file/${target.bucketName}/${name}`, {
          headers: { authorization: c.native!.token },
        }),
      );
    },
  },
  {
    name: 'metadata',
    apis: ['native', 's3'],
    allowed: (c, i) => has(c, 'readFiles') && scopeOk(c, i),
    async run(api, c, area) {
      const name = `${area}/${c.tag}-meta-${api}`;
      const id = await fixture(name);
      if (api === 's3') {
        const r = await s3(c, 'HEAD', `/${target.bucketName}/${name}`);
        // HEAD has no body: the code of a refusal cannot be read, the status can
        return { status: r.status, code: r.status === 403 ? 'AccessDenied' : null };
      }
      return nat(await c.native!.call('b2_get_file_info', { fileId: id }));
    },
  },
  {
    name: 'write',
    apis: ['native', 's3'],
    allowed: (c, i) => has(c, 'writeFiles') && scopeOk(c, i),
    async run(api, c, area) {
      const name = `${area}/${c.tag}-write-${api}`;
      if (api === 's3') return s3o(await s3(c, 'PUT', `/${target.bucketName}/${name}`, { body: 'x' }));
      const u = await c.native!.call('b2_get_upload_url', { bucketId: target.bucketId });
      if (u.status !== 200) return nat(u);
      const body = Buffer.from('x');
      return nat(
        await wire(u.json.uploadUrl, {
          method: 'POST',
          headers: {
            authorization: u.json.authorizationToken,
            'x-bz-file-name': name,
            'content-type': 'text/plain',
            'x-bz-content-sha1': sha1(body),
          },
          body,
        }),
      );
    },
  },
  {
    name: 'list',
    apis: ['native', 's3'],
    allowed: (c, i) => has(c, 'listFiles') && scopeOk(c, i),
    async run(api, c, area) {
      if (api === 's3')
        return s3o(
          await s3(c, 'GET', `/${target.bucketName}`, { query: { 'list-type': '2', prefix: `${area}/` } }),
        );
      return nat(
        await c.native!.call('b2_list_file_names', { bucketId: target.bucketId, prefix: `${area}/` }),
      );
    },
  },
  {
    name: 'hide',
    apis: ['native', 's3'],
    allowed: (c, i) => has(c, 'writeFiles') && scopeOk(c, i),
    async run(api, c, area) {
      const name = `${area}/${c.tag}-hide-${api}`;
      await fixture(name);
      if (api === 's3') return s3o(await s3(c, 'DELETE', `/${target.bucketName}/${name}`));
      return nat(await c.native!.call('b2_hide_file', { bucketId: target.bucketId, fileName: name }));
    },
    async missing(api, c, area) {
      const name = `${area}/${c.tag}-never-written`;
      if (api === 's3') return s3o(await s3(c, 'DELETE', `/${target.bucketName}/${name}`));
      return nat(await c.native!.call('b2_hide_file', { bucketId: target.bucketId, fileName: name }));
    },
  },
  {
    name: 'delete-version',
    apis: ['native', 's3'],
    allowed: (c, i) => has(c, 'deleteFiles') && scopeOk(c, i),
    async run(api, c, area) {
      const name = `${area}/${c.tag}-del-${api}`;
      const id = await fixture(name);
      if (api === 's3')
        return s3o(await s3(c, 'DELETE', `/${target.bucketName}/${name}`, { query: { versionId: id } }));
      return nat(await c.native!.call('b2_delete_file_version', { fileId: id, fileName: name }));
    },
    async missing(api, c, area) {
      const name = `${area}/${c.tag}-never-written`;
      if (api === 's3')
        return s3o(
          await s3(c, 'DELETE', `/${target.bucketName}/${name}`, { query: { versionId: absentId } }),
        );
      return nat(await c.native!.call('b2_delete_file_version', { fileId: absentId, fileName: name }));
    },
  },
  {
    name: 'copy',
    apis: ['native', 's3'],
    // the source is in `area`; the destination is always inside the prefix
    allowed: (c, i) => has(c, 'readFiles', 'writeFiles') && scopeOk(c, i),
    async run(api, c, area) {
      const src = `${area}/${c.tag}-copysrc-${api}`;
      const id = await fixture(src);
      const dst = `in/${c.tag}-copydst-${api}`;
      if (api === 's3')
        return s3o(
          await s3(c, 'PUT', `/${target.bucketName}/${dst}`, {
            headers: { 'x-amz-copy-source': `/${target.bucketName}/${src}` },
          }),
        );
      return nat(await c.native!.call('b2_copy_file', { sourceFileId: id, fileName: dst }));
    },
    async missing(api, c, area) {
      const src = `${area}/${c.tag}-never-written`;
      const dst = `in/${c.tag}-copydst-missing-${api}`;
      if (api === 's3')
        return s3o(
          await s3(c, 'PUT', `/${target.bucketName}/${dst}`, {
            headers: { 'x-amz-copy-source': `/${target.bucketName}/${src}` },
          }),
        );
      // a native copy names its source by id only: a missing id says nothing about any name
      return nat(await c.native!.call('b2_copy_file', { sourceFileId: absentId, fileName: dst }));
    },
  },
  {
    name: 'lifecycle',
    apis: ['native', 's3'],
    allowed: (c, i) =>
      (has(c, 'writeBucketLifecycleRules') || (has(c, 'writeBuckets') && c.spec.bucket === 'any')) &&
      scopeOk(c, i),
    async run(api, c, area) {
      await m.ok('b2_update_bucket', {
        accountId: m.accountId,
        bucketId: target.bucketId,
        lifecycleRules: [],
      });
      if (api === 's3')
        return s3o(
          await s3(c, 'PUT', `/${target.bucketName}`, {
            query: { lifecycle: '' },
            body: `<LifecycleConfiguration><Rule><ID>r</ID><Filter><Prefix>${area}/</Prefix></Filter><Status>Enabled</Status><NoncurrentVersionExpiration><NoncurrentDays>3</NoncurrentDays></NoncurrentVersionExpiration></Rule></LifecycleConfiguration>`,
          }),
        );
      return nat(
        await c.native!.call('b2_update_bucket', {
          accountId: c.native!.accountId,
          bucketId: target.bucketId,
          lifecycleRules: [
            { fileNamePrefix: `${area}/`, daysFromHidingToDeleting: 3, daysFromUploadingToHiding: null },
          ],
        }),
      );
    },
  },
  {
    name: 'share',
    apis: ['native'],
    allowed: (c, i) => has(c, 'shareFiles') && scopeOk(c, i),
    async run(_api, c, area) {
      return nat(
        await c.native!.call('b2_get_download_authorization', {
          bucketId: target.bucketId,
          fileNamePrefix: `${area}/`,
          validDurationInSeconds: 600,
        }),
      );
    },
  },
];

function expected(api: Api, op: Op, allowed: boolean): Outcome {
  if (!allowed)
    return api === 'native' ? { status: 401, code: 'unauthorized' } : { status: 403, code: 'AccessDenied' };
  if (api === 's3' && op.name === 'hide') return { status: 204, code: null };
  if (api === 's3' && op.name === 'delete-version') return { status: 204, code: null };
  return { status: 200, code: null };
}

beforeAll(async () => {
  env = await startS3Env();
  m = await Session.master(env.emu, 3);
  target = await m.createBucket(bucketName('cat'));
  other = await m.createBucket(bucketName('catother'));
  const probe = await m.uploadOk(target.bucketId, 'probe', 'x');
  absentId = probe.fileId.replace(/_t\d{4}$/, '_t9999');
  downloadUrl = (m.auth as { apiInfo: { storageApi: { downloadUrl: string } } }).apiInfo.storageApi
    .downloadUrl;
}, 30_000);

afterAll(async () => {
  await env?.stop();
});

let cells = 0;
let oracleCells = 0;

test.each(KEYS.map((k) => [`${k.caps} bucket=${k.bucket} prefix=${k.prefix ?? '-'}`, k] as const))(
  'key %s: every operation on both APIs, inside and outside the prefix',
  async (_label, spec) => {
    const bucketId =
      spec.bucket === 'own' ? target.bucketId : spec.bucket === 'other' ? other.bucketId : undefined;
    const created = await m.ok('b2_create_key', {
      accountId: m.accountId,
      keyName: `cat-${spec.caps}-${spec.bucket}-${spec.prefix ? 'p' : 'n'}`,
      capabilities: CAPSETS[spec.caps],
      ...(bucketId ? { bucketId } : {}),
      ...(spec.prefix ? { namePrefix: spec.prefix } : {}),
    });
    const c: Ctx = {
      spec,
      caps: new Set(CAPSETS[spec.caps]),
      keyId: created.applicationKeyId,
      secret: created.applicationKey,
      native: await Session.open(env.url, 3, created.applicationKeyId, created.applicationKey),
      tag: `${spec.caps}-${spec.bucket}-${spec.prefix ? 'p' : 'n'}`,
    };
    const mismatches: string[] = [];
    for (const op of OPS)
      for (const api of op.apis)
        for (const area of ['in', 'out'] as const) {
          const want = expected(api, op, op.allowed(c, area === 'in'));
          const got = await op.run(api, c, area);
          cells++;
          const same = got.status === want.status && (want.code === null || got.code === want.code);
          if (!same)
            mismatches.push(
              `${api} ${op.name} name ${area}: expected ${want.status} ${want.code ?? ''}, got ${got.status} ${got.code ?? ''}`,
            );
          if (
            op.missing &&
            !op.allowed(c, area === 'in') &&
            !(api === 'native' && op.name === 'copy' && c.spec.prefix && area === 'out')
          ) {
            const gone = await op.missing(api, c, area);
            oracleCells++;
            if (gone.status !== want.status || gone.code !== want.code)
              mismatches.push(
                `${api} ${op.name} name ${area}, object missing: expected the same ${want.status} ${want.code ?? ''}, got ${gone.status} ${gone.code ?? ''}`,
              );
          }
        }
    expect(mismatches).toEqual([]);
  },
  60_000,
);

test('the catalogue covered every cell', () => {
  const perKey = OPS.reduce((n, op) => n + op.apis.length * 2, 0);
  expect(cells).toBe(KEYS.length * perKey);
  expect(oracleCells).toBeGreaterThan(300);
  process.stdout.write(
    `scope catalogue: ${cells} cells, ${oracleCells} refusals re-asked about a missing object\n`,
  );
});

test('writeBuckets cannot be given to a bucket-restricted key (the rows the table leaves out)', async () => {
  const r = await m.call('b2_create_key', {
    accountId: m.accountId,
    keyName: 'cat-buckets-own',
    capabilities: ['writeBuckets'],
    bucketId: target.bucketId,
  });
  expect([r.status, r.json.code]).toEqual([400, 'bad_request']);
});
