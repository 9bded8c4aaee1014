/**
 * Files (docs/b2-api.md §2.2–2.4, §3, §4): uploads and SHA-1 modes, large files, listing and paging,
 * hide/delete, downloads with Range and headers, download authorizations, public buckets, copy.
 */
import { randomBytes } from 'crypto';
import { startEmulator, type RunningEmulator } from '../../helpers/emulator';
import { bucketName, Session, sha1, wire } from './native-helpers';

let emu: RunningEmulator;
let s: Session;
beforeAll(async () => {
  emu = await startEmulator();
  s = await Session.master(emu);
});
afterAll(async () => {
  await emu?.stop();
});

const newBucket = (tag: string, extra: Record<string, unknown> = {}) =>
  s.createBucket(bucketName(tag), extra);

describe('b2_upload_file', () => {
  test('returns the v2 file shape; name and info are percent-decoded; b2/x-auto by extension', async () => {
    const b = await newBucket('up');
    const f = await s.uploadOk(b.bucketId, 'dir/a b+c €.txt', 'hello', {
      'x-bz-info-src_last_modified_millis': '1700000000000',
      'X-Bz-Info-Author': 'J%C3%BCrgen',
    });
    expect(f).toMatchObject({
      accountId: s.accountId,
      action: 'upload',
      bucketId: b.bucketId,
      contentLength: 5,
      contentSha1: sha1('hello'),
      contentMd5: '5d41402abc4b2a76b9719d911017c592',
      contentType: 'text/plain',
      fileName: 'dir/a b+c €.txt',
      fileInfo: { src_last_modified_millis: '1700000000000', author: 'Jürgen' },
      serverSideEncryption: { algorithm: null, mode: null },
      legalHold: { isClientAuthorizedToRead: true, value: null },
    });
    expect(f.fileId).toMatch(/^4_z/);
    expect(f.fileId.length).toBeLessThanOrEqual(200);
    expect(Math.abs(f.uploadTimestamp - Date.now())).toBeLessThan(60_000);
    expect(f.size).toBeUndefined();
  });

  test('an empty file uploads, lists with size 0 and downloads empty', async () => {
    const b = await newBucket('empty');
    const f = await s.uploadOk(b.bucketId, 'empty.txt', '');
    expect(f).toMatchObject({ contentLength: 0, contentSha1: sha1('') });
    const r = await wire(`${emu.url}/file/${b.bucketName}/empty.txt`, {
      headers: { authorization: s.token },
    });
    expect([r.status, r.text, r.headers.get('content-length')]).toEqual([200, '', '0']);
    const ranged = await wire(`${emu.url}/file/${b.bucketName}/empty.txt`, {
      headers: { authorization: s.token, range: 'bytes=0-1' },
    });
    expect(ranged.status).toBe(416);
  });

  test('+ in X-Bz-File-Name decodes as space; %2B is a literal plus', async () => {
    const b = await newBucket('plus');
    const f = await s.uploadOk(b.bucketId, 'ignored', 'x', { 'x-bz-file-name': 'a+b%2Bc' });
    expect(f.fileName).toBe('a b+c');
  });

  test('hex_digits_at_end: SHA-1 trails the body; Content-Length = size + 40', async () => {
    const b = await newBucket('hexend');
    const data = randomBytes(1000);
    const u = await s.ok('b2_get_upload_url', { bucketId: b.bucketId });
    const body = Buffer.concat([data, Buffer.from(sha1(data))]);
    const r = await wire(u.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: u.authorizationToken,
        'x-bz-file-name': 'h.bin',
        'content-type': 'application/octet-stream',
        'x-bz-content-sha1': 'hex_digits_at_end',
      },
      body,
    });
    expect(r.status).toBe(200);
    expect(r.json.contentLength).toBe(1000);
    expect(r.json.contentSha1).toBe(sha1(data));
    const bad = Buffer.concat([data, Buffer.from('0'.repeat(40))]);
    const r2 = await wire(u.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: u.authorizationToken,
        'x-bz-file-name': 'h2.bin',
        'content-type': 'application/octet-stream',
        'x-bz-content-sha1': 'hex_digits_at_end',
      },
      body: bad,
    });
    expect(r2.status).toBe(400);
    expect(r2.json.message).toMatch(/Sha1/i);
  });

  test('a wrong SHA-1 → 400 and nothing is stored', async () => {
    const b = await newBucket('badsha');
    const r = await s.upload(b.bucketId, 'x.txt', 'data', { 'x-bz-content-sha1': sha1('other') });
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ status: 400, code: 'bad_request' });
    const list = await s.ok('b2_list_file_versions', { bucketId: b.bucketId });
    expect(list.files).toEqual([]);
  });

  test('do_not_verify stores unverified:<sha1>', async () => {
    const b = await newBucket('nover');
    const f = await s.uploadOk(b.bucketId, 'x.txt', 'data', { 'x-bz-content-sha1': 'do_not_verify' });
    expect(f.contentSha1).toBe(`unverified:${sha1('data')}`);
  });

  test('header rules: missing name/sha1, bad info key, unknown b2- info, forbidden headers, account token', async () => {
    const b = await newBucket('hdr');
    const u = await s.ok('b2_get_upload_url', { bucketId: b.bucketId });
    const base = {
      authorization: u.authorizationToken,
      'x-bz-file-name': 'a',
      'content-type': 'text/plain',
      'x-bz-content-sha1': sha1('x'),
    };
    const cases: [Record<string, string | undefined>, number, RegExp][] = [
      [{ 'x-bz-file-name': undefined }, 400, /X-Bz-File-Name/],
      [{ 'x-bz-content-sha1': undefined }, 400, /X-Bz-Content-Sha1/],
      [{ 'x-bz-content-sha1': 'xyz' }, 400, /X-Bz-Content-Sha1/],
      [{ 'x-bz-info-b2-bogus': 'v' }, 400, /b2-bogus/],
      [{ 'content-disposition': 'inline' }, 400, /content-disposition/],
      [{ authorization: s.token }, 401, /upload/i],
      [{ 'x-bz-file-name': '%01bad' }, 400, /fileName/],
    ];
    for (const [h, status, re] of cases) {
      const headers = Object.fromEntries(
        Object.entries({ ...base, ...h }).filter(([, v]) => v !== undefined),
      ) as Record<string, string>;
      const r = await wire(u.uploadUrl, { method: 'POST', headers, body: 'x' });
      expect([r.status, r.json?.message]).toEqual([status, expect.stringMatching(re)]);
    }
  });

  test('name limits: 1024 bytes ok, 1025 refused', async () => {
    const b = await newBucket('len');
    expect((await s.upload(b.bucketId, 'a'.repeat(1024), 'x')).status).toBe(200);
    const r = await s.upload(b.bucketId, 'a'.repeat(1025), 'x');
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/fileName/);
  });

  test('more than 10 info entries refused', async () => {
    const b = await newBucket('info');
    const headers = Object.fromEntries([...Array(11)].map((_, i) => [`x-bz-info-k${i}`, 'v']));
    const r = await s.upload(b.bucketId, 'x', 'x', headers);
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/10/);
  });
});

describe('large files', () => {
  const MB5 = 5_000_000;
  async function uploadPart(fileId: string, n: number, data: Buffer, sha = sha1(data)) {
    const u = await s.ok('b2_get_upload_part_url', { fileId });
    expect(u.uploadUrl).toContain('/b2_upload_part/');
    return wire(u.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: u.authorizationToken,
        'x-bz-part-number': String(n),
        'x-bz-content-sha1': sha,
      },
      body: data,
    });
  }

  test('start → parts → list_parts → finish; download is byte-exact; sha1 none', async () => {
    const b = await newBucket('large');
    const start = await s.ok('b2_start_large_file', {
      bucketId: b.bucketId,
      fileName: 'big.bin',
      contentType: 'application/octet-stream',
      fileInfo: { large_file_sha1: 'abc' },
    });
    expect(start).toMatchObject({
      action: 'start',
      contentLength: 0,
      contentSha1: 'none',
      fileName: 'big.bin',
    });
    const p1 = randomBytes(MB5);
    const p2 = randomBytes(1234);
    const r1 = await uploadPart(start.fileId, 1, p1);
    expect(r1.status).toBe(200);
    expect(r1.json).toMatchObject({
      fileId: start.fileId,
      partNumber: 1,
      contentLength: MB5,
      contentSha1: sha1(p1),
    });
    expect((await uploadPart(start.fileId, 2, p2)).status).toBe(200);
    const parts = await s.ok('b2_list_parts', { fileId: start.fileId, maxPartCount: 1 });
    expect(parts.parts.map((p: { partNumber: number }) => p.partNumber)).toEqual([1]);
    expect(parts.nextPartNumber).toBe(2);
    const unfinished = await s.ok('b2_list_unfinished_large_files', { bucketId: b.bucketId });
    expect(unfinished.files.map((f: { fileId: string }) => f.fileId)).toEqual([start.fileId]);
    const names = await s.ok('b2_list_file_names', { bucketId: b.bucketId });
    expect(names.files).toEqual([]);
    const done = await s.ok('b2_finish_large_file', {
      fileId: start.fileId,
      partSha1Array: [sha1(p1), sha1(p2)],
    });
    expect(done).toMatchObject({
      action: 'upload',
      contentLength: MB5 + 1234,
      contentSha1: 'none',
      contentMd5: null,
      fileInfo: { large_file_sha1: 'abc' },
    });
    const dl = await fetch(`${emu.url}/file/${b.bucketName}/big.bin`, {
      headers: { authorization: s.token },
    });
    const got = Buffer.from(await dl.arrayBuffer());
    expect(got.equals(Buffer.concat([p1, p2]))).toBe(true);
    expect(dl.headers.get('x-bz-content-sha1')).toBe('none');
    // range across the part boundary
    const rg = await fetch(`${emu.url}/file/${b.bucketName}/big.bin`, {
      headers: { authorization: s.token, range: `bytes=${MB5 - 3}-${MB5 + 2}` },
    });
    expect(rg.status).toBe(206);
    expect(
      Buffer.from(await rg.arrayBuffer()).equals(Buffer.concat([p1, p2]).subarray(MB5 - 3, MB5 + 3)),
    ).toBe(true);
  });

  test('finish errors: one part, missing part, wrong sha1, small non-last part', async () => {
    const b = await newBucket('lferr');
    const start = (name: string) =>
      s.ok('b2_start_large_file', { bucketId: b.bucketId, fileName: name, contentType: 'b2/x-auto' });
    const one = await start('one');
    const d = randomBytes(10);
    await uploadPart(one.fileId, 1, d);
    let r = await s.call('b2_finish_large_file', { fileId: one.fileId, partSha1Array: [sha1(d)] });
    expect([r.status, r.json.message]).toEqual([400, 'large files must have at least 2 parts']);

    const gap = await start('gap');
    await uploadPart(gap.fileId, 1, randomBytes(MB5));
    await uploadPart(gap.fileId, 3, d);
    r = await s.call('b2_finish_large_file', {
      fileId: gap.fileId,
      partSha1Array: ['a'.repeat(40), 'b'.repeat(40)],
    });
    expect(r.status).toBe(400);
    expect(r.json.code).toBe('missing_part');

    const wrong = await start('wrong');
    const w1 = randomBytes(MB5);
    await uploadPart(wrong.fileId, 1, w1);
    await uploadPart(wrong.fileId, 2, d);
    r = await s.call('b2_finish_large_file', {
      fileId: wrong.fileId,
      partSha1Array: [sha1(w1), 'c'.repeat(40)],
    });
    expect(r.json.code).toBe('part_sha1_mismatch');

    const small = await start('small');
    await uploadPart(small.fileId, 1, d);
    await uploadPart(small.fileId, 2, d);
    r = await s.call('b2_finish_large_file', { fileId: small.fileId, partSha1Array: [sha1(d), sha1(d)] });
    expect(r.status).toBe(400);
    expect(r.json.message).toMatch(/minimum part size/);
  });

  test('part rules: number out of range, bad sha1, cancel removes the file', async () => {
    const b = await newBucket('parts');
    const f = await s.ok('b2_start_large_file', {
      bucketId: b.bucketId,
      fileName: 'p',
      contentType: 'b2/x-auto',
    });
    const d = randomBytes(100);
    expect((await uploadPart(f.fileId, 10001, d)).status).toBe(400);
    expect((await uploadPart(f.fileId, 0, d)).status).toBe(400);
    const bad = await uploadPart(f.fileId, 1, d, sha1('nope'));
    expect(bad.status).toBe(400);
    const c = await s.ok('b2_cancel_large_file', { fileId: f.fileId });
    expect(c).toEqual({ accountId: s.accountId, bucketId: b.bucketId, fileId: f.fileId, fileName: 'p' });
    const again = await s.call('b2_cancel_large_file', { fileId: f.fileId });
    expect(again.status).toBe(400);
    const v = await s.ok('b2_list_file_versions', { bucketId: b.bucketId });
    expect(v.files).toEqual([]);
  });
});

describe('listing', () => {
  let b: { bucketId: string; bucketName: string };
  const names = ['a.txt', 'b/1.txt', 'b/2.txt', 'b/c/3.txt', 'd.txt', 'e/4.txt'];
  beforeAll(async () => {
    b = await newBucket('list');
    for (const n of names) await s.uploadOk(b.bucketId, n, n);
    await s.uploadOk(b.bucketId, 'a.txt', 'a second version');
    await s.ok('b2_hide_file', { bucketId: b.bucketId, fileName: 'd.txt' });
  });

  test('list_file_names pages with nextFileName (inclusive), hides hidden names, newest version only', async () => {
    const seen: string[] = [];
    let start: string | undefined;
    for (let i = 0; i < 10; i++) {
      const page = await s.ok('b2_list_file_names', {
        bucketId: b.bucketId,
        maxFileCount: 2,
        ...(start !== undefined ? { startFileName: start } : {}),
      });
      seen.push(...page.files.map((f: { fileName: string }) => f.fileName));
      start = page.nextFileName ?? undefined;
      if (start === undefined) break;
      expect(page.files).toHaveLength(2);
    }
    expect(seen).toEqual(['a.txt', 'b/1.txt', 'b/2.txt', 'b/c/3.txt', 'e/4.txt']);
    const a = await s.ok('b2_list_file_names', { bucketId: b.bucketId, maxFileCount: 1 });
    expect(a.files[0].contentLength).toBe('a second version'.length);
    expect(a.nextFileName).toBe('b/1.txt');
  });

  test('list_file_versions: every version newest first, hide markers included, paging by name+id', async () => {
    const all = await s.ok('b2_list_file_versions', { bucketId: b.bucketId, maxFileCount: 1000 });
    const summary = all.files.map((f: { fileName: string; action: string }) => `${f.fileName}:${f.action}`);
    expect(summary).toEqual([
      'a.txt:upload',
      'a.txt:upload',
      'b/1.txt:upload',
      'b/2.txt:upload',
      'b/c/3.txt:upload',
      'd.txt:hide',
      'd.txt:upload',
      'e/4.txt:upload',
    ]);
    expect(all.files[0].uploadTimestamp).toBeGreaterThanOrEqual(all.files[1].uploadTimestamp);
    expect(all.files[0].contentLength).toBe('a second version'.length);
    const hide = all.files[5];
    expect(hide).toMatchObject({
      action: 'hide',
      contentLength: 0,
      contentType: 'application/x-bz-hide-marker',
    });
    expect(hide.fileRetention).toBeUndefined();
    const paged: string[] = [];
    let sn: string | undefined;
    let sid: string | undefined;
    for (let i = 0; i < 20; i++) {
      const page = await s.ok('b2_list_file_versions', {
        bucketId: b.bucketId,
        maxFileCount: 3,
        ...(sn !== undefined ? { startFileName: sn, startFileId: sid } : {}),
      });
      paged.push(...page.files.map((f: { fileId: string }) => f.fileId));
      if (!page.nextFileName) break;
      sn = page.nextFileName;
      sid = page.nextFileId;
    }
    expect(paged).toEqual(all.files.map((f: { fileId: string }) => f.fileId));
  });

  test('prefix + delimiter: folders returned once with action folder', async () => {
    const top = await s.ok('b2_list_file_names', { bucketId: b.bucketId, delimiter: '/' });
    expect(top.files.map((f: { fileName: string; action: string }) => `${f.fileName}:${f.action}`)).toEqual([
      'a.txt:upload',
      'b/:folder',
      'e/:folder',
    ]);
    expect(top.files[1]).toMatchObject({ fileId: null, contentLength: 0, uploadTimestamp: 0 });
    const inB = await s.ok('b2_list_file_names', { bucketId: b.bucketId, prefix: 'b/', delimiter: '/' });
    expect(inB.files.map((f: { fileName: string }) => f.fileName)).toEqual(['b/1.txt', 'b/2.txt', 'b/c/']);
    const paged: string[] = [];
    let start: string | undefined;
    for (let i = 0; i < 10; i++) {
      const p = await s.ok('b2_list_file_names', {
        bucketId: b.bucketId,
        delimiter: '/',
        maxFileCount: 1,
        ...(start !== undefined ? { startFileName: start } : {}),
      });
      paged.push(...p.files.map((f: { fileName: string }) => f.fileName));
      start = p.nextFileName ?? undefined;
      if (start === undefined) break;
    }
    expect(paged).toEqual(['a.txt', 'b/', 'e/']);
    const versions = await s.ok('b2_list_file_versions', { bucketId: b.bucketId, delimiter: '/' });
    expect(versions.files.map((f: { fileName: string }) => f.fileName)).toEqual([
      'a.txt',
      'a.txt',
      'b/',
      'd.txt',
      'd.txt',
      'e/',
    ]);
  });

  test('list errors: maxFileCount > 10000 out_of_range, bad bucket invalid_bucket_id', async () => {
    const r = await s.call('b2_list_file_names', { bucketId: b.bucketId, maxFileCount: 10001 });
    expect([r.status, r.json.code]).toEqual([400, 'out_of_range']);
    const nb = await s.call('b2_list_file_names', { bucketId: 'ffffffffffffffffffffffff' });
    expect([nb.status, nb.json.code]).toEqual([400, 'invalid_bucket_id']);
    const q = await s.get('b2_list_file_names', { bucketId: b.bucketId, maxFileCount: '2' });
    expect(q.json.files).toHaveLength(2);
  });
});

describe('hide and delete', () => {
  test('hide → already_hidden → no_such_file; delete version restores the older one', async () => {
    const b = await newBucket('hide');
    const v1 = await s.uploadOk(b.bucketId, 'f.txt', 'one');
    const hide = await s.ok('b2_hide_file', { bucketId: b.bucketId, fileName: 'f.txt' });
    expect(hide).toMatchObject({ action: 'hide', fileName: 'f.txt', contentLength: 0 });
    const again = await s.call('b2_hide_file', { bucketId: b.bucketId, fileName: 'f.txt' });
    expect([again.status, again.json.code]).toEqual([400, 'already_hidden']);
    const none = await s.call('b2_hide_file', { bucketId: b.bucketId, fileName: 'nope.txt' });
    expect(none.json.code).toBe('no_such_file');
    const dl = await wire(`${emu.url}/file/${b.bucketName}/f.txt`, { headers: { authorization: s.token } });
    expect([dl.status, dl.json.code]).toEqual([404, 'not_found']);
    const del = await s.ok('b2_delete_file_version', { fileId: hide.fileId, fileName: 'f.txt' });
    expect(del).toEqual({ fileId: hide.fileId, fileName: 'f.txt' });
    const back = await wire(`${emu.url}/file/${b.bucketName}/f.txt`, { headers: { authorization: s.token } });
    expect(back.text).toBe('one');
    const wrongName = await s.call('b2_delete_file_version', { fileId: v1.fileId, fileName: 'other.txt' });
    expect(wrongName.json.code).toBe('file_not_present');
    await s.ok('b2_delete_file_version', { fileId: v1.fileId, fileName: 'f.txt' });
    const gone = await s.call('b2_delete_file_version', { fileId: v1.fileId, fileName: 'f.txt' });
    expect(gone.json.code).toBe('file_not_present');
    const info = await s.call('b2_get_file_info', { fileId: v1.fileId });
    expect(info.status).toBe(404);
    const bad = await s.call('b2_get_file_info', { fileId: 'bad-id' });
    expect([bad.status, bad.json.message]).toEqual([400, 'Invalid fileId: bad-id']);
  });
});

describe('downloads', () => {
  let b: { bucketId: string; bucketName: string };
  let f: { fileId: string };
  const data = Buffer.from('0123456789abcdefghij');
  beforeAll(async () => {
    b = await newBucket('dl', { bucketInfo: { 'Cache-Control': 'max-age=60' } });
    f = await s.uploadOk(b.bucketId, 'x/data file.bin', data, {
      'content-type': 'application/x-test',
      'x-bz-info-b2-content-disposition': 'attachment%3B%20filename%3D%22a.bin%22',
      'x-bz-info-color': 'blue%2Bgreen',
    });
  });

  test('by name: body and B2 headers', async () => {
    const r = await fetch(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      headers: { authorization: s.token },
    });
    expect(r.status).toBe(200);
    expect(Buffer.from(await r.arrayBuffer()).equals(data)).toBe(true);
    expect(r.headers.get('content-length')).toBe('20');
    expect(r.headers.get('content-type')).toBe('application/x-test');
    expect(r.headers.get('x-bz-file-id')).toBe(f.fileId);
    expect(r.headers.get('x-bz-file-name')).toBe('x/data%20file.bin');
    expect(r.headers.get('x-bz-content-sha1')).toBe(sha1(data));
    expect(r.headers.get('x-bz-upload-timestamp')).toMatch(/^\d+$/);
    expect(r.headers.get('x-bz-info-color')).toBe('blue%2Bgreen');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="a.bin"');
    expect(r.headers.get('x-bz-info-b2-content-disposition')).toBeNull();
    expect(r.headers.get('cache-control')).toBe('max-age=60');
    expect(r.headers.get('date')).toBeTruthy();
  });

  test('by id (GET query and POST JSON), HEAD, Range 206 and 416', async () => {
    const byId = await fetch(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${f.fileId}`, {
      headers: { authorization: s.token },
    });
    expect(Buffer.from(await byId.arrayBuffer()).equals(data)).toBe(true);
    const post = await fetch(`${emu.url}/b2api/v2/b2_download_file_by_id`, {
      method: 'POST',
      headers: { authorization: s.token },
      body: JSON.stringify({ fileId: f.fileId }),
    });
    expect(post.status).toBe(200);
    const head = await fetch(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      method: 'HEAD',
      headers: { authorization: s.token },
    });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-length')).toBe('20');
    expect(await head.text()).toBe('');
    const range = await fetch(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      headers: { authorization: s.token, range: 'bytes=2-5' },
    });
    expect(range.status).toBe(206);
    expect(range.headers.get('content-range')).toBe('bytes 2-5/20');
    expect(await range.text()).toBe('2345');
    const suffix = await fetch(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      headers: { authorization: s.token, range: 'bytes=-3' },
    });
    expect(await suffix.text()).toBe('hij');
    const out = await wire(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      headers: { authorization: s.token, range: 'bytes=50-60' },
    });
    expect([out.status, out.json.code]).toEqual([416, 'range_not_satisfiable']);
  });

  test('private bucket without auth → 401; missing file → 404', async () => {
    const r = await wire(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`);
    expect(r.status).toBe(401);
    const m = await wire(`${emu.url}/file/${b.bucketName}/missing`, { headers: { authorization: s.token } });
    expect([m.status, m.json.code]).toEqual([404, 'not_found']);
  });

  test('download authorization: prefix-bound token in header or ?Authorization=, expiry, overrides', async () => {
    const d = await s.ok('b2_get_download_authorization', {
      bucketId: b.bucketId,
      fileNamePrefix: 'x/',
      validDurationInSeconds: 60,
      b2ContentDisposition: 'inline',
    });
    expect(d).toMatchObject({ bucketId: b.bucketId, fileNamePrefix: 'x/' });
    const q = await fetch(
      `${emu.url}/file/${b.bucketName}/x/data%20file.bin?Authorization=${encodeURIComponent(d.authorizationToken)}&b2ContentDisposition=inline`,
    );
    expect(q.status).toBe(200);
    expect(q.headers.get('content-disposition')).toBe('inline');
    const h = await fetch(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      headers: { authorization: d.authorizationToken },
    });
    expect(h.status).toBe(200);
    const mismatch = await fetch(
      `${emu.url}/file/${b.bucketName}/x/data%20file.bin?Authorization=${encodeURIComponent(d.authorizationToken)}&b2ContentDisposition=attachment`,
    );
    expect(mismatch.status).toBe(401);
    const other = await s.uploadOk(b.bucketId, 'y.txt', 'y');
    expect(other.fileName).toBe('y.txt');
    const outside = await wire(`${emu.url}/file/${b.bucketName}/y.txt`, {
      headers: { authorization: d.authorizationToken },
    });
    expect(outside.status).toBe(401);
    const bad = await s.call('b2_get_download_authorization', {
      bucketId: b.bucketId,
      fileNamePrefix: 'x/',
      validDurationInSeconds: 604801,
    });
    expect(bad.json.message).toMatch(/validDurationInSeconds/);
    await emu.admin('POST', '/__admin/clock', { advanceSeconds: 61 });
    const expired = await wire(`${emu.url}/file/${b.bucketName}/x/data%20file.bin`, {
      headers: { authorization: d.authorizationToken },
    });
    expect(expired.status).toBe(401);
  });

  test('public bucket: no auth needed for downloads, listing still needs a token', async () => {
    const pub = await newBucket('pub', { bucketType: 'allPublic' });
    const pf = await s.uploadOk(pub.bucketId, 'p.txt', 'public!');
    const r = await wire(`${emu.url}/file/${pub.bucketName}/p.txt`);
    expect([r.status, r.text]).toEqual([200, 'public!']);
    const byId = await wire(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${pf.fileId}`);
    expect(byId.status).toBe(200);
    const list = await wire(`${emu.url}/b2api/v2/b2_list_file_names?bucketId=${pub.bucketId}`);
    expect(list.status).toBe(401);
  });
});

describe('b2_copy_file', () => {
  test('COPY keeps metadata; REPLACE needs contentType; range copies bytes; action copy', async () => {
    const b = await newBucket('copy');
    const dst = await newBucket('copy-dst');
    const src = await s.uploadOk(b.bucketId, 'src.txt', 'abcdefghij', { 'x-bz-info-k': 'v' });
    const c = await s.ok('b2_copy_file', { sourceFileId: src.fileId, fileName: 'copy.txt' });
    expect(c).toMatchObject({
      action: 'copy',
      fileName: 'copy.txt',
      contentLength: 10,
      contentSha1: src.contentSha1,
      fileInfo: { k: 'v' },
      contentType: 'text/plain',
    });
    const ranged = await s.ok('b2_copy_file', {
      sourceFileId: src.fileId,
      fileName: 'part.txt',
      destinationBucketId: dst.bucketId,
      range: 'bytes=2-4',
    });
    expect(ranged).toMatchObject({ bucketId: dst.bucketId, contentLength: 3, contentSha1: sha1('cde') });
    const body = await wire(`${emu.url}/file/${dst.bucketName}/part.txt`, {
      headers: { authorization: s.token },
    });
    expect(body.text).toBe('cde');
    const copyWithType = await s.call('b2_copy_file', {
      sourceFileId: src.fileId,
      fileName: 'x',
      contentType: 'text/html',
    });
    expect(copyWithType.status).toBe(400);
    const replaceNoType = await s.call('b2_copy_file', {
      sourceFileId: src.fileId,
      fileName: 'x',
      metadataDirective: 'REPLACE',
    });
    expect(replaceNoType.status).toBe(400);
    expect(replaceNoType.json.message).toMatch(/contentType/);
    const replaced = await s.ok('b2_copy_file', {
      sourceFileId: src.fileId,
      fileName: 'r.html',
      metadataDirective: 'REPLACE',
      contentType: 'text/html',
      fileInfo: { n: '1' },
    });
    expect(replaced).toMatchObject({ contentType: 'text/html', fileInfo: { n: '1' } });
    // the source can be deleted; the copy keeps its bytes
    await s.ok('b2_delete_file_version', { fileId: src.fileId, fileName: 'src.txt' });
    const still = await wire(`${emu.url}/file/${b.bucketName}/copy.txt`, {
      headers: { authorization: s.token },
    });
    expect(still.text).toBe('abcdefghij');
  });

  test('copy_part builds a large file from existing files', async () => {
    const b = await newBucket('copypart');
    const big = randomBytes(5_000_000);
    const src = await s.uploadOk(b.bucketId, 'src.bin', big);
    const lf = await s.ok('b2_start_large_file', {
      bucketId: b.bucketId,
      fileName: 'joined.bin',
      contentType: 'b2/x-auto',
    });
    const p1 = await s.ok('b2_copy_part', {
      sourceFileId: src.fileId,
      largeFileId: lf.fileId,
      partNumber: 1,
    });
    const p2 = await s.ok('b2_copy_part', {
      sourceFileId: src.fileId,
      largeFileId: lf.fileId,
      partNumber: 2,
      range: 'bytes=0-9',
    });
    expect(p2).toMatchObject({ partNumber: 2, contentLength: 10, contentSha1: sha1(big.subarray(0, 10)) });
    await s.ok('b2_finish_large_file', {
      fileId: lf.fileId,
      partSha1Array: [p1.contentSha1, p2.contentSha1],
    });
    const r = await fetch(`${emu.url}/file/${b.bucketName}/joined.bin`, {
      headers: { authorization: s.token },
    });
    expect(Buffer.from(await r.arrayBuffer()).equals(Buffer.concat([big, big.subarray(0, 10)]))).toBe(true);
  });
});
