/**
 * Dot segments in file names through `B2Client` (issue 12): a name such as `d/../b.txt` is its
 * own file and round-trips by name; a URL parser must never turn it into `b.txt`. A name that is
 * only `..` cannot be put in a URL path, so a download by name is refused (by id works).
 */
import { B2Client } from '../../infra/b2';
import { fileNamePath } from '../../infra/b2/raw';
import { RunningEmulator, startEmulator } from '../helpers/emulator';

let emu: RunningEmulator;
let c: B2Client;
const bucket = `names-${process.pid}-${Date.now() % 100000}`;
let bucketId: string;

beforeAll(async () => {
  emu = await startEmulator();
  c = new B2Client({
    applicationKeyId: emu.info.keyId,
    applicationKey: emu.info.applicationKey,
    realmUrl: emu.url,
  });
  bucketId = (await c.createBucket({ bucketName: bucket, bucketType: 'allPrivate' })).bucketId;
});
afterAll(async () => {
  await emu?.stop();
});

it.each(['d/../b.txt', 'd/./b.txt', './b.txt', 'a/..', '../b.txt', 'x/.../b.txt', 'a/b..c/d'])(
  '"%s" round-trips by name and never serves "b.txt"',
  async (name) => {
    await c.uploadFile({ bucketId, fileName: 'b.txt', body: 'plain' });
    await c.uploadFile({ bucketId, fileName: name, body: `named ${name}` });
    const d = await c.downloadFileByName(bucket, name);
    expect(d.fileName).toBe(name);
    expect((await d.buffer()).toString()).toBe(`named ${name}`);
  },
);

it('a name that is only ".." or "." is refused by name, served by id', async () => {
  const up = await c.uploadFile({ bucketId, fileName: '..', body: 'dots' });
  await expect(c.downloadFileByName(bucket, '..')).rejects.toThrow(/downloadFileById/);
  await expect(c.downloadFileByName(bucket, '.')).rejects.toThrow(/dot segment/);
  expect((await (await c.downloadFileById(up.fileId!)).buffer()).toString()).toBe('dots');
});

it('plain names keep readable paths', () => {
  expect(fileNamePath('dir/sub dir/a+b.txt')).toBe('dir/sub%20dir/a%2Bb.txt');
  expect(fileNamePath('d/../b.txt')).toBe('d%2F..%2Fb.txt');
});
