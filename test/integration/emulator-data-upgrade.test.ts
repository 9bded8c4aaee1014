/**
 * Upgrade: a `--data` directory written by an older emulator (test/fixtures/emulator-data-v1,
 * written by the single-class engine before it was split into modules) opens with this version
 * and serves the same bytes, keys, versions and unfinished large files.
 */
/* eslint-disable @typescript-eslint/no-explicit-any -- untyped wire JSON, read field by field */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { startEmulator, type RunningEmulator } from '../helpers/emulator';
import { Session, wire } from '../conformance/wire/native-helpers';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'emulator-data-v1');
const manifest = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'manifest.json'), 'utf8'));
const sha1 = (b: Buffer): string => createHash('sha1').update(b).digest('hex');

let dir: string;
let emu: RunningEmulator;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'b2-upgrade-'));
  fs.cpSync(path.join(FIXTURE, 'data'), dir, { recursive: true });
  emu = await startEmulator({ data: dir });
}, 30_000);

afterAll(async () => {
  await emu?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

test('the stored master key, account and buckets are the fixture ones', async () => {
  expect(emu.info.accountId).toBe(manifest.accountId);
  expect(emu.info.keyId).toBe(manifest.master.keyId);
  const s = await Session.open(emu.url, 3, manifest.master.keyId, manifest.master.applicationKey);
  const buckets = await s.ok('b2_list_buckets', { accountId: s.accountId });
  const byName = Object.fromEntries(buckets.buckets.map((b: any) => [b.bucketName, b]));
  expect(byName['fixture-private'].bucketId).toBe(manifest.buckets.private);
  expect(byName['fixture-private'].bucketInfo).toEqual({ team: 'fixture' });
  expect(byName['fixture-private'].lifecycleRules).toHaveLength(1);
  expect(byName['fixture-public'].bucketType).toBe('allPublic');
});

test('every stored version downloads byte-identical, by id and by name', async () => {
  const s = await Session.open(emu.url, 3, manifest.master.keyId, manifest.master.applicationKey);
  const dl = (s.auth as any).apiInfo.storageApi.downloadUrl;
  for (const f of manifest.files) {
    const r = await fetch(`${dl}/b2api/v3/b2_download_file_by_id?fileId=${f.fileId}`, {
      headers: { authorization: s.token },
    });
    const body = Buffer.from(await r.arrayBuffer());
    expect({ name: f.fileName, status: r.status, size: body.length, sha1: sha1(body) }).toEqual({
      name: f.fileName,
      status: 200,
      size: f.size,
      sha1: f.sha1,
    });
  }
  const newest = await fetch(`${dl}/file/fixture-private/${encodeURIComponent('dir/é name+.bin')}`, {
    headers: { authorization: s.token },
  });
  expect(await newest.text()).toBe('version two, newer');
  const pub = await fetch(`${dl}/file/fixture-public/public.txt`);
  expect(await pub.text()).toBe('anyone may read this');
  const hidden = await fetch(`${dl}/file/fixture-private/${manifest.hidden}`, {
    headers: { authorization: s.token },
  });
  expect(hidden.status).toBe(404);
});

test('versions, hide marker and the unfinished large file are listed as before', async () => {
  const s = await Session.open(emu.url, 3, manifest.master.keyId, manifest.master.applicationKey);
  const v = await s.ok('b2_list_file_versions', { bucketId: manifest.buckets.private, maxFileCount: 100 });
  const ids = new Set(v.files.map((f: any) => f.fileId));
  for (const f of manifest.files.filter((x: any) => x.bucket === manifest.buckets.private))
    expect(ids.has(f.fileId)).toBe(true);
  expect(v.files.find((f: any) => f.fileName === manifest.hidden && f.action === 'hide')).toBeTruthy();
  const un = await s.ok('b2_list_unfinished_large_files', { bucketId: manifest.buckets.private });
  expect(un.files.map((f: any) => f.fileId)).toEqual([manifest.unfinished.fileId]);
  const parts = await s.ok('b2_list_parts', { fileId: manifest.unfinished.fileId });
  expect(parts.parts.map((p: any) => p.contentSha1)).toEqual([manifest.unfinished.partSha1]);
});

test('the stored restricted key keeps its scope', async () => {
  const r = await Session.open(emu.url, 3, manifest.reader.keyId, manifest.reader.applicationKey);
  expect((r.auth as any).apiInfo.storageApi.namePrefix).toBe('dir/');
  const dl = (r.auth as any).apiInfo.storageApi.downloadUrl;
  const inside = await wire(`${dl}/file/fixture-private/${encodeURIComponent('dir/é name+.bin')}`, {
    headers: { authorization: r.token },
  });
  expect(inside.status).toBe(200);
  const outside = await wire(`${dl}/file/fixture-private/small.txt`, { headers: { authorization: r.token } });
  expect(outside.status).toBe(401);
});

test('new writes land beside the old data and survive a restart', async () => {
  const s = await Session.open(emu.url, 3, manifest.master.keyId, manifest.master.applicationKey);
  const up = await s.uploadOk(manifest.buckets.private, 'after-upgrade.txt', 'written by the new version');
  await emu.stop();
  emu = await startEmulator({ data: dir });
  const s2 = await Session.open(emu.url, 3, manifest.master.keyId, manifest.master.applicationKey);
  const dl = (s2.auth as any).apiInfo.storageApi.downloadUrl;
  const r = await wire(`${dl}/b2api/v3/b2_download_file_by_id?fileId=${up.fileId}`, {
    headers: { authorization: s2.token },
  });
  expect(r.text).toBe('written by the new version');
  const big = manifest.files.find((f: any) => f.fileName === 'copy-range.bin');
  const rr = await fetch(`${dl}/b2api/v3/b2_download_file_by_id?fileId=${big.fileId}`, {
    headers: { authorization: s2.token },
  });
  expect(sha1(Buffer.from(await rr.arrayBuffer()))).toBe(big.sha1);
}, 30_000);
