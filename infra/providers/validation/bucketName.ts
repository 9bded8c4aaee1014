import { Problem } from './problem';

/**
 * B2 bucket-name rules (docs/b2-api.md §4): 6–63 characters of letters, digits and `-`, not starting
 * with `b2-`. B2 accepts upper case natively, but the S3-compatible API (which the backup jobs use)
 * needs lower case, so we require `[a-z0-9-]`. Names are global across all B2 accounts.
 * https://www.backblaze.com/docs/cloud-storage-buckets#bucket-names
 */
export const BUCKET_NAME_MIN = 6;
export const BUCKET_NAME_MAX = 63;
const BUCKET_NAME_CHARS = /^[a-z0-9-]+$/;

/** Returns the problems with `name` (empty when valid); `property` names the input in messages. */
export function validateBucketName(name: unknown, property = 'bucketName'): Problem[] {
  if (typeof name !== 'string' || name.length === 0) {
    return [{ property, reason: 'a bucket name is required (a non-empty string)' }];
  }
  const problems: Problem[] = [];
  const hint = 'adjust namePrefix/nameSuffix in the stack config';
  if (name.length < BUCKET_NAME_MIN || name.length > BUCKET_NAME_MAX) {
    problems.push({
      property,
      reason: `bucket name "${name}" is ${name.length} characters; B2 needs ${BUCKET_NAME_MIN}-${BUCKET_NAME_MAX} (${hint})`,
    });
  }
  if (!BUCKET_NAME_CHARS.test(name)) {
    problems.push({
      property,
      reason: `bucket name "${name}" may only contain lower-case letters, digits and "-" (${hint})`,
    });
  }
  if (name.toLowerCase().startsWith('b2-')) {
    problems.push({
      property,
      reason: `bucket name "${name}" must not start with "b2-" (reserved by Backblaze)`,
    });
  }
  return problems;
}
