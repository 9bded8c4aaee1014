import { Problem } from '../../providers/validation/problem';

export const UPLOAD_ENCRYPTIONS = ['SSE-B2', 'SSE-C'] as const;
export type UploadEncryption = (typeof UPLOAD_ENCRYPTIONS)[number];

/**
 * B2 replication silently skips SSE-C files (docs/b2-api.md §8, §10), so a replicated estate whose jobs
 * upload with SSE-C would look replicated and not be. The design forbids the combination outright;
 * we refuse it at preview instead of discovering it at restore time.
 */
export function validateEncryptionWithReplication(
  uploadEncryption: unknown,
  replicated: boolean,
  property = 'uploadEncryption',
): Problem[] {
  if (!(UPLOAD_ENCRYPTIONS as readonly unknown[]).includes(uploadEncryption)) {
    return [
      {
        property,
        reason: `must be one of ${UPLOAD_ENCRYPTIONS.join(', ')}, got ${JSON.stringify(uploadEncryption)}`,
      },
    ];
  }
  if (uploadEncryption === 'SSE-C' && replicated) {
    return [
      {
        property,
        reason:
          'SSE-C cannot be used with replication: B2 does not replicate SSE-C files, so the EU copy would be ' +
          'missing. Use SSE-B2 (the default) or turn replication off.',
      },
    ];
  }
  return [];
}
