/**
 * Client-side AES-256-GCM for Terraform/Pulumi state (issue 6: state holds secrets, so B2 only
 * ever sees ciphertext). Envelope, all binary:
 *
 *   "IFBENC1\n" (8 bytes) | key id (16 ASCII hex) | IV (12) | ciphertext | GCM tag (16)
 *
 * The key id is the first 16 hex digits of SHA-256("infrafabric-backup key id" + key): it names
 * the key in object metadata (`x-amz-meta-key-id`) without revealing it, so a restore with the
 * wrong key fails with "encrypted with key X, you supplied key Y" before GCM even runs.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'crypto';
import * as fs from 'fs';
import { JobError, UsageError } from './errors';
import { SecretString } from '../../infra/b2/secret';

const MAGIC = Buffer.from('IFBENC1\n', 'ascii');
const KEY_ID_LEN = 16;
const IV_LEN = 12;
const TAG_LEN = 16;
export const DEFAULT_KEY_ENV = 'BACKUP_ENCRYPTION_KEY';

export interface EncryptionKey {
  key: SecretString; // 32 bytes, base64 inside the SecretString
  keyId: string;
}

export function keyIdOf(raw: Buffer): string {
  return createHash('sha256')
    .update('infrafabric-backup key id')
    .update(raw)
    .digest('hex')
    .slice(0, KEY_ID_LEN);
}

/**
 * 32 raw bytes given as 64 hex digits or base64 (what `openssl rand -base64 32` prints), with its
 * key id; `what` names the key in the error ("an AES-256 key", "a manifest signing key").
 */
export function parseKeyBytes(text: string, source: string, what: string): EncryptionKey {
  const t = text.trim();
  let raw: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(t)) raw = Buffer.from(t, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(t)) raw = Buffer.from(t, 'base64');
  if (!raw || raw.length !== 32) {
    throw new UsageError(
      `${source}: ${what} must be 32 bytes as 64 hex digits or base64 (e.g. \`openssl rand -base64 32\`)`,
    );
  }
  return { key: new SecretString(raw.toString('base64')), keyId: keyIdOf(raw) };
}

export function parseKey(text: string, source: string): EncryptionKey {
  return parseKeyBytes(text, source, 'an AES-256 key');
}

/** The text of a key file named by `flag`; an unreadable file is a usage error naming both. */
export function readKeyFile(flag: string, file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`${flag} ${file}: cannot read (${(e as Error).message})`);
  }
}

/** Key from `--key-file` or the named environment variable; a clear error when neither is set. */
export function loadKey(opts: { keyFile?: string; keyEnv?: string }, env: NodeJS.ProcessEnv): EncryptionKey {
  if (opts.keyFile) return parseKey(readKeyFile('--key-file', opts.keyFile), `--key-file ${opts.keyFile}`);
  const name = opts.keyEnv ?? DEFAULT_KEY_ENV;
  const v = env[name];
  if (!v) {
    throw new UsageError(
      `no encryption key: set ${name} (32 bytes, base64 or hex) or pass --key-file <path>`,
    );
  }
  return parseKey(v, `environment variable ${name}`);
}

export function encrypt(plain: Buffer, k: EncryptionKey): Buffer {
  const iv = randomBytes(IV_LEN);
  const cipher = createCipheriv('aes-256-gcm', Buffer.from(k.key.reveal(), 'base64'), iv);
  // The header is authenticated too, so a swapped key id cannot pass as valid.
  const header = Buffer.concat([MAGIC, Buffer.from(k.keyId, 'ascii'), iv]);
  cipher.setAAD(header);
  const body = Buffer.concat([cipher.update(plain), cipher.final()]);
  return Buffer.concat([header, body, cipher.getAuthTag()]);
}

export function envelopeKeyId(data: Buffer): string | undefined {
  if (data.length < MAGIC.length + KEY_ID_LEN || !data.subarray(0, MAGIC.length).equals(MAGIC))
    return undefined;
  return data.subarray(MAGIC.length, MAGIC.length + KEY_ID_LEN).toString('ascii');
}

export function decrypt(data: Buffer, k: EncryptionKey): Buffer {
  const keyId = envelopeKeyId(data);
  if (!keyId) throw new JobError('not an infrafabric-backup encrypted object (bad header)');
  if (keyId !== k.keyId) {
    throw new JobError(
      `object was encrypted with key id ${keyId}; the supplied key has id ${k.keyId} — use the matching key`,
    );
  }
  const headerLen = MAGIC.length + KEY_ID_LEN + IV_LEN;
  if (data.length < headerLen + TAG_LEN) throw new JobError('encrypted object is truncated');
  const iv = data.subarray(MAGIC.length + KEY_ID_LEN, headerLen);
  const tag = data.subarray(data.length - TAG_LEN);
  const decipher = createDecipheriv('aes-256-gcm', Buffer.from(k.key.reveal(), 'base64'), iv);
  decipher.setAAD(data.subarray(0, headerLen));
  decipher.setAuthTag(tag);
  try {
    return Buffer.concat([
      decipher.update(data.subarray(headerLen, data.length - TAG_LEN)),
      decipher.final(),
    ]);
  } catch {
    throw new JobError(
      'decryption failed: the object was altered or the key is wrong (GCM authentication failed)',
    );
  }
}
