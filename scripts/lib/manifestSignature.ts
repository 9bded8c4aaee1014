/**
 * HMAC-signed run manifests. The writer key every backup job holds can upload any object, so a
 * manifest it wrote proves nothing by itself; a manifest signed with a secret the bucket keys do
 * not carry (`BACKUP_MANIFEST_KEY` or `--manifest-key-file`) cannot be forged with a stolen bucket
 * key. The signature covers the canonical serialization of the manifest without its `signature`
 * field: `JSON.stringify` of the object, keys in insertion order. A reader parses the stored body,
 * deletes `signature` and stringifies again, which yields the same string (JSON round-trips keys
 * in order), so the writer's pretty-printing does not matter.
 *
 * The key id is derived as tf-state derives its key id (scripts/lib/crypto.ts `parseKeyBytes`): it names
 * the key in the signature without revealing it.
 */
import { createHmac, timingSafeEqual } from 'crypto';
import { SecretString } from '../../infra/b2/secret';
import { parseKeyBytes, readKeyFile } from './crypto';

export const MANIFEST_KEY_ENV = 'BACKUP_MANIFEST_KEY';
/** Keys rotated out, still accepted by readers: comma-separated, each as `BACKUP_MANIFEST_KEY`. */
export const MANIFEST_PREVIOUS_KEYS_ENV = 'BACKUP_MANIFEST_PREVIOUS_KEYS';
export const SIGNATURE_ALG = 'HMAC-SHA256';

export interface ManifestSignature {
  alg: string;
  keyId: string;
  value: string;
}

export interface ManifestKey {
  key: SecretString; // 32 bytes, base64 inside the SecretString
  keyId: string;
}

/** 32 bytes as 64 hex digits or base64 (what `openssl rand -base64 32` prints). */
export function parseManifestKey(text: string, source: string): ManifestKey {
  return parseKeyBytes(text, source, 'a manifest signing key');
}

/** The key from `--manifest-key-file`, else `BACKUP_MANIFEST_KEY`; undefined when neither is set. */
export function loadManifestKey(file: string | undefined, env: NodeJS.ProcessEnv): ManifestKey | undefined {
  if (file) return parseManifestKey(readKeyFile('--manifest-key-file', file), `--manifest-key-file ${file}`);
  const v = env[MANIFEST_KEY_ENV];
  return v ? parseManifestKey(v, `environment variable ${MANIFEST_KEY_ENV}`) : undefined;
}

/**
 * Previous (rotated-out) keys for readers: each `--manifest-previous-key-file`, then every
 * comma-separated item of `BACKUP_MANIFEST_PREVIOUS_KEYS`, parsed as the current key is. Writers
 * never sign with these. Duplicates (same key id) are kept once.
 */
export function loadPreviousManifestKeys(
  files: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
): ManifestKey[] {
  const keys: ManifestKey[] = [];
  for (const file of files ?? [])
    keys.push(
      parseManifestKey(
        readKeyFile('--manifest-previous-key-file', file),
        `--manifest-previous-key-file ${file}`,
      ),
    );
  const v = env[MANIFEST_PREVIOUS_KEYS_ENV];
  if (v)
    v.split(',').forEach((item, i) => {
      if (item.trim() === '') return; // a trailing comma
      keys.push(
        parseManifestKey(
          item,
          `environment variable ${MANIFEST_PREVIOUS_KEYS_ENV} (item ${i + 1}, comma-separated)`,
        ),
      );
    });
  const seen = new Set<string>();
  return keys.filter((k) => !seen.has(k.keyId) && !!seen.add(k.keyId));
}

/** What is signed: the manifest without its `signature` field, as `JSON.stringify` writes it. */
export function canonicalManifest(m: object): string {
  const rest: Record<string, unknown> = { ...(m as Record<string, unknown>) };
  delete rest.signature;
  return JSON.stringify(rest);
}

function hmac(k: ManifestKey, text: string): Buffer {
  return createHmac('sha256', Buffer.from(k.key.reveal(), 'base64')).update(text, 'utf8').digest();
}

/** The manifest with `signature` appended (the last field). */
export function signManifest<M extends object>(m: M, k: ManifestKey): M & { signature: ManifestSignature } {
  const signature: ManifestSignature = {
    alg: SIGNATURE_ALG,
    keyId: k.keyId,
    value: hmac(k, canonicalManifest(m)).toString('hex'),
  };
  return { ...m, signature };
}

export type SignatureCheck =
  | { state: 'valid'; keyId: string; previous: boolean }
  | { state: 'unsigned' }
  | { state: 'invalid'; reason: string };

/**
 * The key a signature's key id names: the current key, else one of the previous keys; undefined
 * when it names none of them.
 */
export function selectKey(
  keyId: unknown,
  current: ManifestKey,
  previous: readonly ManifestKey[] = [],
): ManifestKey | undefined {
  if (keyId === current.keyId) return current;
  return previous.find((p) => p.keyId === keyId);
}

/**
 * Checks a parsed manifest's signature against the key its key id names: `k` (current) or one of
 * `previous` (rotated out, still accepted for manifests signed before the rotation).
 */
export function checkSignature(
  parsed: unknown,
  k: ManifestKey,
  previous: readonly ManifestKey[] = [],
): SignatureCheck {
  const sig = (parsed as { signature?: unknown } | null)?.signature;
  if (sig === undefined) return { state: 'unsigned' };
  const s = (sig ?? {}) as Partial<ManifestSignature>;
  if (s.alg !== SIGNATURE_ALG)
    return {
      state: 'invalid',
      reason: `signature algorithm ${JSON.stringify(s.alg)} is not ${SIGNATURE_ALG}`,
    };
  const key = selectKey(s.keyId, k, previous);
  if (!key)
    return {
      state: 'invalid',
      reason: `signed with key id ${String(s.keyId)}, not the configured key id ${k.keyId}${previous.length ? ` nor a previous key id (${previous.map((p) => p.keyId).join(', ')})` : ''}`,
    };
  const got =
    typeof s.value === 'string' && /^[0-9a-f]{64}$/.test(s.value) ? Buffer.from(s.value, 'hex') : undefined;
  const want = hmac(key, canonicalManifest(parsed as object));
  if (!got || !timingSafeEqual(got, want))
    return {
      state: 'invalid',
      reason: `signature does not verify with key id ${key.keyId} (altered after signing?)`,
    };
  return { state: 'valid', keyId: key.keyId, previous: key !== k };
}

/** The key id a parsed manifest claims to be signed with, if any. */
export function signedKeyId(parsed: unknown): string | undefined {
  const sig = (parsed as { signature?: { keyId?: unknown } } | null)?.signature;
  return sig && typeof sig.keyId === 'string' ? sig.keyId : sig ? '?' : undefined;
}
