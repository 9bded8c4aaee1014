/**
 * The operations a B2 CORS rule may allow (docs/b2-api.md §4, `corsRules[].allowedOperations`).
 * Wire constants, shared by the emulator's validation and the Bucket provider's validation.
 * https://www.backblaze.com/docs/cloud-storage-cross-origin-resource-sharing-rules
 */
export const CORS_OPERATIONS = [
  'b2_download_file_by_name',
  'b2_download_file_by_id',
  'b2_upload_file',
  'b2_upload_part',
  's3_delete',
  's3_get',
  's3_head',
  's3_post',
  's3_put',
] as const;
export type CorsOperation = (typeof CORS_OPERATIONS)[number];
