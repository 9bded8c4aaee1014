/**
 * The B2 engine of one region (= one account): every B2 rule that does not depend on HTTP.
 * Protocol layers (native JSON, S3 XML) authenticate the caller into an `AuthContext`, call these
 * methods, and render the records they return or the `B2Error` they throw.
 *
 * `Engine` is the one object the protocol layers and jobs use; it composes one module per concern
 * and forwards each public method to it:
 *
 *   base.ts         EngineCore: store, clock, account id; scope checks; bucket/file lookups;
 *                   SSE, Object Lock and replication settings of new versions; chunk reads
 *   accounts.ts     master key, application keys, account/upload/download tokens
 *   buckets.ts      buckets and their settings, notification rules
 *   files.ts        simple uploads, file info, hide, delete, retention, legal hold, job helpers
 *   ingest.ts       streaming a body into a blob while hashing it; digest checks
 *   listing.ts      b2_list_file_names / b2_list_file_versions
 *   large-files.ts  large files and their parts
 *   copies.ts       b2_copy_file / b2_copy_part (S3 CopyObject / UploadPartCopy)
 *   downloads.ts    download authorizations, download access rules, Range, SSE-C
 *
 * Rules come from docs/b2-api.md; section numbers are cited where a rule is not obvious.
 */
import type { Store } from '../../store/types';
import type { Clock } from '../clock';
import { Accounts, accountIdOf } from './accounts';
import { EngineCore } from './base';
import { Buckets } from './buckets';
import { Copies } from './copies';
import { Downloads } from './downloads';
import { Files } from './files';
import { LargeFiles } from './large-files';
import { Listing } from './listing';
import type { EngineOptions } from './types';

export * from './types';
export { TOKEN_TTL_MS, requireBucketScope, requireCap, requireNameScope } from './base';
export { parseRange } from './downloads';

export class Engine {
  readonly region: string;
  readonly accountId: string;
  readonly store: Store;
  readonly clock: Clock;
  private readonly core: EngineCore;
  private readonly accounts: Accounts;
  private readonly buckets: Buckets;
  private readonly files: Files;
  private readonly listing: Listing;
  private readonly largeFiles: LargeFiles;
  private readonly copies: Copies;
  private readonly downloads: Downloads;

  constructor(opts: EngineOptions) {
    this.region = opts.region;
    this.store = opts.store;
    this.clock = opts.clock;
    this.accountId = accountIdOf(opts.store);
    this.core = new EngineCore(this.region, this.accountId, this.store, this.clock);
    this.accounts = new Accounts(this.core, opts);
    this.buckets = new Buckets(this.core, this.accounts, opts.isBucketNameTaken);
    this.files = new Files(this.core, this.accounts);
    this.listing = new Listing(this.core);
    this.largeFiles = new LargeFiles(this.core, this.accounts);
    this.copies = new Copies(this.core, this.largeFiles);
    this.downloads = new Downloads(this.core, this.accounts);
  }

  // ---------------------------------------------------------------- keys, authorization, tokens
  masterCredentials: Accounts['masterCredentials'] = () => this.accounts.masterCredentials();
  findKey: Accounts['findKey'] = (...a) => this.accounts.findKey(...a);
  authContextForKey: Accounts['authContextForKey'] = (...a) => this.accounts.authContextForKey(...a);
  systemAuth: Accounts['systemAuth'] = () => this.accounts.systemAuth();
  verifyKey: Accounts['verifyKey'] = (...a) => this.accounts.verifyKey(...a);
  authorize: Accounts['authorize'] = (...a) => this.accounts.authorize(...a);
  authenticate: Accounts['authenticate'] = (...a) => this.accounts.authenticate(...a);
  expireToken: Accounts['expireToken'] = (...a) => this.accounts.expireToken(...a);
  isAccountToken: Accounts['isAccountToken'] = (...a) => this.accounts.isAccountToken(...a);
  createKey: Accounts['createKey'] = (...a) => this.accounts.createKey(...a);
  deleteKey: Accounts['deleteKey'] = (...a) => this.accounts.deleteKey(...a);
  listKeys: Accounts['listKeys'] = (...a) => this.accounts.listKeys(...a);
  claimUploadToken: Accounts['claimUploadToken'] = (...a) => this.accounts.claimUploadToken(...a);

  // ---------------------------------------------------------------- buckets
  bucketFor: EngineCore['bucketFor'] = (...a) => this.core.bucketFor(...a);
  hasBucketNamed: Buckets['hasBucketNamed'] = (...a) => this.buckets.hasBucketNamed(...a);
  getBucketByName: Buckets['getBucketByName'] = (...a) => this.buckets.getBucketByName(...a);
  allBuckets: Buckets['allBuckets'] = () => this.buckets.allBuckets();
  createBucket: Buckets['createBucket'] = (...a) => this.buckets.createBucket(...a);
  updateBucket: Buckets['updateBucket'] = (...a) => this.buckets.updateBucket(...a);
  deleteBucket: Buckets['deleteBucket'] = (...a) => this.buckets.deleteBucket(...a);
  listBuckets: Buckets['listBuckets'] = (...a) => this.buckets.listBuckets(...a);
  canRead: Buckets['canRead'] = (...a) => this.buckets.canRead(...a);
  getNotificationRules: Buckets['getNotificationRules'] = (...a) => this.buckets.getNotificationRules(...a);
  setLifecycleRules: Buckets['setLifecycleRules'] = (...a) => this.buckets.setLifecycleRules(...a);
  setNotificationRules: Buckets['setNotificationRules'] = (...a) => this.buckets.setNotificationRules(...a);

  // ---------------------------------------------------------------- files and versions
  fileFor: EngineCore['fileFor'] = (...a) => this.core.fileFor(...a);
  newestVersion: EngineCore['newestVersion'] = (...a) => this.core.newestVersion(...a);
  getUploadUrl: Files['getUploadUrl'] = (...a) => this.files.getUploadUrl(...a);
  precheckUpload: Files['precheckUpload'] = (...a) => this.files.precheckUpload(...a);
  uploadFile: Files['uploadFile'] = (...a) => this.files.uploadFile(...a);
  getFileInfo: Files['getFileInfo'] = (...a) => this.files.getFileInfo(...a);
  hideFile: Files['hideFile'] = (...a) => this.files.hideFile(...a);
  deleteFileVersion: Files['deleteFileVersion'] = (...a) => this.files.deleteFileVersion(...a);
  updateFileRetention: Files['updateFileRetention'] = (...a) => this.files.updateFileRetention(...a);
  updateFileLegalHold: Files['updateFileLegalHold'] = (...a) => this.files.updateFileLegalHold(...a);
  listFileNames: Listing['listFileNames'] = (...a) => this.listing.listFileNames(...a);
  listFileVersions: Listing['listFileVersions'] = (...a) => this.listing.listFileVersions(...a);

  // ---------------------------------------------------------------- large files
  getUploadPartUrl: LargeFiles['getUploadPartUrl'] = (...a) => this.largeFiles.getUploadPartUrl(...a);
  startLargeFile: LargeFiles['startLargeFile'] = (...a) => this.largeFiles.startLargeFile(...a);
  precheckUploadPart: LargeFiles['precheckUploadPart'] = (...a) => this.largeFiles.precheckUploadPart(...a);
  uploadPart: LargeFiles['uploadPart'] = (...a) => this.largeFiles.uploadPart(...a);
  listParts: LargeFiles['listParts'] = (...a) => this.largeFiles.listParts(...a);
  finishLargeFile: LargeFiles['finishLargeFile'] = (...a) => this.largeFiles.finishLargeFile(...a);
  cancelLargeFile: LargeFiles['cancelLargeFile'] = (...a) => this.largeFiles.cancelLargeFile(...a);
  listUnfinishedLargeFiles: LargeFiles['listUnfinishedLargeFiles'] = (...a) =>
    this.largeFiles.listUnfinishedLargeFiles(...a);

  // ---------------------------------------------------------------- copies
  copyFile: Copies['copyFile'] = (...a) => this.copies.copyFile(...a);
  copyPart: Copies['copyPart'] = (...a) => this.copies.copyPart(...a);

  // ---------------------------------------------------------------- downloads
  getDownloadAuthorization: Downloads['getDownloadAuthorization'] = (...a) =>
    this.downloads.getDownloadAuthorization(...a);
  downloadCredential: Downloads['downloadCredential'] = (...a) => this.downloads.downloadCredential(...a);
  openByName: Downloads['openByName'] = (...a) => this.downloads.openByName(...a);
  openById: Downloads['openById'] = (...a) => this.downloads.openById(...a);
  readChunks: EngineCore['readChunks'] = (...a) => this.core.readChunks(...a);

  // ---------------------------------------------------------------- jobs support
  systemDeleteVersion: Files['systemDeleteVersion'] = (...a) => this.files.systemDeleteVersion(...a);
  putSystemVersion: Files['putSystemVersion'] = (...a) => this.files.putSystemVersion(...a);
  makeVersion: Files['makeVersion'] = (...a) => this.files.makeVersion(...a);
}
