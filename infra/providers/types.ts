/**
 * Wire-shaped types shared by the dynamic providers and the components. Field names are exactly
 * B2's (docs/b2-api.md §3); nullable fields are `T | null`, never optional, so `null` ("not set") stays
 * apart from "not given".
 */

/** Which B2 account a resource lives in. `replica` is the second (EU) account used by replication. */
export type AccountRole = 'primary' | 'replica';
export const ACCOUNT_ROLES: readonly AccountRole[] = ['primary', 'replica'];

/** https://www.backblaze.com/docs/cloud-storage-lifecycle-rules */
export interface LifecycleRule {
  fileNamePrefix: string;
  daysFromUploadingToHiding: number | null;
  daysFromHidingToDeleting: number | null;
  daysFromStartingToCancelingUnfinishedLargeFiles: number | null;
}

/** https://www.backblaze.com/docs/cloud-storage-cross-origin-resource-sharing-rules (one definition, the wire's). */
export type { CorsRule } from '../b2/wire/types';

/**
 * Bucket default encryption. Only SSE-B2 is accepted: B2 refuses SSE-C as a bucket default and no
 * longer accepts an explicit "none" (issue 5), so the provider never sends or expects either.
 */
export interface DefaultServerSideEncryption {
  mode: 'SSE-B2';
  algorithm: 'AES256';
}

/** Object Lock default retention (docs/b2-api.md §9). */
export interface DefaultRetention {
  mode: 'governance' | 'compliance';
  period: { duration: number; unit: 'days' | 'years' };
}

export type BucketType = 'allPrivate' | 'allPublic';
export const BUCKET_TYPES: readonly BucketType[] = ['allPrivate', 'allPublic'];
