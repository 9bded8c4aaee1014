/**
 * Header names and the B2 string codec (docs/b2-api.md §2.2, §2.3). Named once here so client and
 * emulator spell them identically (rclone `b2.go` `retryAfterHeader`). Lower case: Node's fetch
 * and http both normalise header names to lower case.
 */

export const Header = {
  authorization: 'authorization',
  contentType: 'content-type',
  contentLength: 'content-length',
  contentRange: 'content-range',
  range: 'range',
  retryAfter: 'retry-after',
  userAgent: 'user-agent',
  fileName: 'x-bz-file-name',
  fileId: 'x-bz-file-id',
  contentSha1: 'x-bz-content-sha1',
  partNumber: 'x-bz-part-number',
  uploadTimestamp: 'x-bz-upload-timestamp',
  /** Prefix of per-file info headers: `x-bz-info-<key>`. */
  infoPrefix: 'x-bz-info-',
  testMode: 'x-bz-test-mode',
  serverSideEncryption: 'x-bz-server-side-encryption',
  sseCustomerAlgorithm: 'x-bz-server-side-encryption-customer-algorithm',
  sseCustomerKey: 'x-bz-server-side-encryption-customer-key',
  sseCustomerKeyMd5: 'x-bz-server-side-encryption-customer-key-md5',
  fileRetentionMode: 'x-bz-file-retention-mode',
  fileRetentionRetainUntil: 'x-bz-file-retention-retain-until-timestamp',
  fileLegalHold: 'x-bz-file-legal-hold',
  clientUnauthorizedToRead: 'x-bz-client-unauthorized-to-read',
  replicationStatus: 'x-bz-replication-status',
  customUploadTimestamp: 'x-bz-custom-upload-timestamp',
} as const;

/** Special `X-Bz-Content-Sha1` values. */
export const Sha1 = {
  /** The 40 hex digits follow the body; Content-Length = size + 40. */
  hexDigitsAtEnd: 'hex_digits_at_end',
  doNotVerify: 'do_not_verify',
  /** Reported for large files, whose whole-file SHA-1 B2 does not know. */
  none: 'none',
} as const;

/** Content type asking B2 to pick one from the file name's extension. */
export const AUTO_CONTENT_TYPE = 'b2/x-auto';
export const HIDE_MARKER_CONTENT_TYPE = 'application/x-bz-hide-marker';

/**
 * B2 string encoding for file names (X-Bz-File-Name, download-by-name paths) and info values:
 * UTF-8 percent-encoding, `/` left alone. `encodeURIComponent` escapes everything outside
 * B2's safe set except `/`, and escapes `+` as `%2B` (b2sdk decodes a literal `+` as space).
 */
export function encodeB2String(value: string): string {
  return encodeURIComponent(value).replace(/%2F/g, '/');
}

/** Inverse of `encodeB2String`; `+` decodes to a space as B2 documents. */
export function decodeB2String(value: string): string {
  return decodeURIComponent(value.replace(/\+/g, ' '));
}
