import { randomBytes } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decrypt, encrypt, envelopeKeyId, loadKey, parseKey } from '../../../scripts/lib/crypto';
import { JobError, UsageError } from '../../../scripts/lib/errors';

const keyA = parseKey(randomBytes(32).toString('base64'), 'test');
const keyB = parseKey(randomBytes(32).toString('hex'), 'test');

describe('AES-256-GCM envelope', () => {
  const plain = Buffer.from(
    JSON.stringify({ terraform_version: '1.9.0', resources: [{ secret: 'hunter2' }] }),
  );

  it('round-trips and never contains the plaintext', () => {
    const sealed = encrypt(plain, keyA);
    expect(sealed.includes(Buffer.from('hunter2'))).toBe(false);
    expect(envelopeKeyId(sealed)).toBe(keyA.keyId);
    expect(decrypt(sealed, keyA).equals(plain)).toBe(true);
  });

  it('uses a fresh IV each time', () => {
    expect(encrypt(plain, keyA).equals(encrypt(plain, keyA))).toBe(false);
  });

  it('names both key ids when the wrong key is supplied', () => {
    const sealed = encrypt(plain, keyA);
    expect(() => decrypt(sealed, keyB)).toThrow(
      new RegExp(`encrypted with key id ${keyA.keyId}; the supplied key has id ${keyB.keyId}`),
    );
  });

  it('detects tampering with the body or the header', () => {
    const sealed = encrypt(plain, keyA);
    const body = Buffer.from(sealed);
    body[body.length - 20] ^= 1;
    expect(() => decrypt(body, keyA)).toThrow(JobError);
    expect(() => decrypt(Buffer.from('not encrypted at all'), keyA)).toThrow(/bad header/);
  });

  it('derives a stable key id that does not reveal the key', () => {
    const raw = randomBytes(32);
    const a = parseKey(raw.toString('base64'), 'x');
    const b = parseKey(raw.toString('hex'), 'y');
    expect(a.keyId).toBe(b.keyId);
    expect(a.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(raw.toString('hex').includes(a.keyId)).toBe(false);
  });
});

describe('loadKey', () => {
  it('explains how to supply a missing key', () => {
    expect(() => loadKey({}, {})).toThrow(UsageError);
    expect(() => loadKey({}, {})).toThrow(/set BACKUP_ENCRYPTION_KEY .* or pass --key-file/);
    expect(() => loadKey({ keyEnv: 'MY_KEY' }, {})).toThrow(/set MY_KEY/);
  });

  it('rejects keys that are not 32 bytes', () => {
    expect(() => loadKey({}, { BACKUP_ENCRYPTION_KEY: 'c2hvcnQ=' })).toThrow(/must be 32 bytes/);
  });

  it('reads a key file', () => {
    const f = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-key-')), 'k');
    fs.writeFileSync(f, randomBytes(32).toString('base64') + '\n');
    expect(loadKey({ keyFile: f }, {}).keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(() => loadKey({ keyFile: f + '.missing' }, {})).toThrow(/--key-file .*cannot read/);
  });

  it('keeps the key out of logs', () => {
    const k = loadKey({}, { BACKUP_ENCRYPTION_KEY: randomBytes(32).toString('base64') });
    expect(JSON.stringify(k)).not.toContain(k.key.reveal());
    expect(`${k.key}`).toBe('**redacted**');
  });
});
