/**
 * `--data DIR` survives kill -9 (docs/architecture.md §4, issue 3): start the emulator on a data directory,
 * upload concurrently, SIGKILL it mid-way, restart on the same directory, and check that every
 * acknowledged file lists and downloads byte-exact, that no partial file is visible, and that an
 * acknowledged part of an unfinished large file survived too.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startEmulator, type RunningEmulator } from '../helpers/emulator';
import { bucketName, Session, sha1, wire } from '../conformance/wire/native-helpers';

/** Deterministic content for a name, so a download can be checked against the name alone. */
function contentFor(name: string): Buffer {
  const seed = createHash('sha256').update(name).digest();
  const size = seed.readUInt32BE(0) % 600_000;
  const out = Buffer.alloc(size);
  let block = seed;
  for (let off = 0; off < size; off += 32) {
    block = createHash('sha256').update(block).digest();
    block.copy(out, off, 0, Math.min(32, size - off));
  }
  return out;
}

const ENV = {
  B2_LOCAL_KEY_ID: 'durabilitykey01',
  B2_LOCAL_APPLICATION_KEY: 'test-only-durability-master-secret',
};

let dir: string;
let emu: RunningEmulator | undefined;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-local-durability-'));
});
afterAll(async () => {
  await emu?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('every acknowledged upload survives kill -9; nothing partial appears', async () => {
  emu = await startEmulator({ data: dir, env: ENV });
  let s = await Session.master(emu);
  const bucket = await s.createBucket(bucketName('durable'));

  // an unfinished large file with one acknowledged 5 MB part
  const part1 = Buffer.alloc(5_000_000, 7);
  const large = await s.ok('b2_start_large_file', {
    bucketId: bucket.bucketId,
    fileName: 'large.bin',
    contentType: 'b2/x-auto',
  });
  const pu = await s.ok('b2_get_upload_part_url', { fileId: large.fileId });
  const pr = await wire(pu.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: pu.authorizationToken,
      'x-bz-part-number': '1',
      'x-bz-content-sha1': sha1(part1),
    },
    body: part1,
  });
  expect(pr.status).toBe(200);

  const acked = new Map<string, string>(); // name → fileId
  const started = new Set<string>();
  let stop = false;
  const worker = async (w: number): Promise<void> => {
    const u = await s.ok('b2_get_upload_url', { bucketId: bucket.bucketId });
    for (let i = 0; !stop && i < 500; i++) {
      const name = `w${w}/file-${i}.bin`;
      const data = contentFor(name);
      started.add(name);
      try {
        const r = await wire(u.uploadUrl, {
          method: 'POST',
          headers: {
            authorization: u.authorizationToken,
            'x-bz-file-name': name,
            'content-type': 'application/octet-stream',
            'x-bz-content-sha1': sha1(data),
          },
          body: data,
        });
        if (r.status === 200) acked.set(name, r.json.fileId);
        else return;
      } catch {
        return; // the emulator died under us: this upload is unacknowledged
      }
    }
  };
  const workers = [0, 1, 2, 3].map(worker);
  const deadline = Date.now() + 60_000; // generous: CI shares two cores
  while (acked.size < 25 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  emu.proc.kill('SIGKILL');
  stop = true;
  await Promise.all(workers);
  await emu.stop();
  expect(acked.size).toBeGreaterThanOrEqual(10);

  emu = await startEmulator({ data: dir, env: ENV });
  s = await Session.master(emu);
  const listed: {
    fileName: string;
    fileId: string;
    contentLength: number;
    contentSha1: string;
    action: string;
  }[] = [];
  let startFileName: string | undefined;
  for (let i = 0; i < 100; i++) {
    const page = await s.ok('b2_list_file_names', {
      bucketId: bucket.bucketId,
      maxFileCount: 1000,
      ...(startFileName ? { startFileName } : {}),
    });
    listed.push(...page.files);
    startFileName = page.nextFileName ?? undefined;
    if (!startFileName) break;
  }
  const byName = new Map(listed.map((f) => [f.fileName, f]));
  for (const [name, fileId] of acked) {
    const f = byName.get(name);
    expect(f?.fileId).toBe(fileId);
    const data = contentFor(name);
    expect(f?.contentSha1).toBe(sha1(data));
    const res = await fetch(`${emu.url}/b2api/v2/b2_download_file_by_id?fileId=${fileId}`, {
      headers: { authorization: s.token },
    });
    const got = Buffer.from(await res.arrayBuffer());
    expect(got.length).toBe(data.length);
    expect(got.equals(data)).toBe(true);
  }
  // anything else visible must have been in flight at the kill and be complete (committed before
  // the response could be sent); nothing partial, nothing never sent
  for (const f of listed) {
    if (acked.has(f.fileName)) continue;
    expect(started.has(f.fileName)).toBe(true);
    expect(f.contentSha1).toBe(sha1(contentFor(f.fileName)));
    expect(f.contentLength).toBe(contentFor(f.fileName).length);
  }
  expect(listed.length - acked.size).toBeLessThanOrEqual(4);
  // no temp file survived the restart
  expect(fs.readdirSync(path.join(dir, 'us-west-004', 'tmp'))).toEqual([]);

  // the acknowledged part of the unfinished large file survived; finish it now
  const parts = await s.ok('b2_list_parts', { fileId: large.fileId });
  expect(
    parts.parts.map((p: { partNumber: number; contentSha1: string }) => [p.partNumber, p.contentSha1]),
  ).toEqual([[1, sha1(part1)]]);
  const part2 = Buffer.from('tail');
  const pu2 = await s.ok('b2_get_upload_part_url', { fileId: large.fileId });
  const r2 = await wire(pu2.uploadUrl, {
    method: 'POST',
    headers: {
      authorization: pu2.authorizationToken,
      'x-bz-part-number': '2',
      'x-bz-content-sha1': sha1(part2),
    },
    body: part2,
  });
  expect(r2.status).toBe(200);
  await s.ok('b2_finish_large_file', { fileId: large.fileId, partSha1Array: [sha1(part1), sha1(part2)] });
  const big = await fetch(`${emu.url}/file/${bucket.bucketName}/large.bin`, {
    headers: { authorization: s.token },
  });
  expect(Buffer.from(await big.arrayBuffer()).equals(Buffer.concat([part1, part2]))).toBe(true);
});

test('a graceful restart keeps keys, buckets and versions', async () => {
  await emu?.stop();
  emu = await startEmulator({ data: dir, env: ENV });
  let s = await Session.master(emu);
  const b = await s.createBucket(bucketName('restart'));
  const key = await s.ok('b2_create_key', {
    accountId: s.accountId,
    keyName: 'survivor',
    capabilities: ['listFiles'],
  });
  await s.uploadOk(b.bucketId, 'v.txt', 'one');
  await s.uploadOk(b.bucketId, 'v.txt', 'two');
  await s.ok('b2_hide_file', { bucketId: b.bucketId, fileName: 'v.txt' });
  await emu.stop();
  emu = await startEmulator({ data: dir, env: ENV });
  s = await Session.master(emu);
  expect(s.accountId).toBe(emu.info.accountId);
  const versions = await s.ok('b2_list_file_versions', { bucketId: b.bucketId });
  expect(versions.files.map((f: { action: string }) => f.action)).toEqual(['hide', 'upload', 'upload']);
  const ks = await Session.open(emu.url, 2, key.applicationKeyId, key.applicationKey);
  expect((await ks.call('b2_list_file_names', { bucketId: b.bucketId })).status).toBe(200);
  // new versions keep sorting after the old ones
  await s.uploadOk(b.bucketId, 'v.txt', 'three');
  const dl = await wire(`${emu.url}/file/${b.bucketName}/v.txt`, { headers: { authorization: s.token } });
  expect(dl.text).toBe('three');
});
