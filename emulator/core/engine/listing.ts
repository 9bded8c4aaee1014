/**
 * b2_list_file_names and b2_list_file_versions: one walk over the store's (name, newest first)
 * order with B2's paging, prefixes, delimiters and name-prefix rules (docs/b2-api.md §2.4).
 */
import { compareUtf8 } from '../../store/types';
import { errors } from '../errors';
import { FILE_ID_RE } from '../ids';
import type { AuthContext, FileRecord, FolderEntry } from '../types';
import { EngineCore, requireCap } from './base';
import type { ListFilesInput, ListFilesResult } from './types';

export class Listing {
  constructor(private readonly core: EngineCore) {}

  listFileNames(auth: AuthContext, input: ListFilesInput): ListFilesResult {
    return this.listFiles(auth, input, false);
  }

  listFileVersions(auth: AuthContext, input: ListFilesInput): ListFilesResult {
    return this.listFiles(auth, input, true);
  }

  /** One engine for both list calls, with B2's paging (docs/b2-api.md §2.4). */
  private listFiles(auth: AuthContext, input: ListFilesInput, versions: boolean): ListFilesResult {
    requireCap(auth, 'listFiles');
    const bucket = this.core.bucketFor(auth, input.bucketId, errors.invalidBucketId);
    let max = input.maxFileCount ?? 100;
    if (max === 0) max = 100;
    if (!Number.isInteger(max) || max < 1 || max > 10000)
      throw errors.outOfRange(`maxFileCount must be 1-10000, got ${max}`);
    const rawPrefix = input.prefix ?? '';
    const delimiter = input.delimiter || null;
    const { prefix, filter } = this.core.effectivePrefix(auth, rawPrefix);
    if (input.startFileId !== undefined && input.startFileName === undefined)
      throw errors.badRequest('startFileId requires startFileName');
    let startName = input.startFileName ?? '';
    let startSeq: number | null = null;
    if (versions && input.startFileId !== undefined) {
      if (!FILE_ID_RE.test(input.startFileId)) throw errors.invalidFileId(input.startFileId);
      const f = this.core.store.getFile(input.startFileId);
      if (f && f.fileName === startName && f.bucketId === bucket.bucketId) startSeq = f.seq;
    }
    if (compareUtf8(startName, prefix) < 0) {
      startName = prefix;
      startSeq = null;
    }
    const out: (FileRecord | FolderEntry)[] = [];
    let lastFolder: string | null = null;
    let decidedName: string | null = null; // names mode: the name whose newest version was seen
    let cursorName = startName;
    let cursorSeq = startSeq;
    const batchSize = Math.min(max * 2 + 10, 5000);
    for (;;) {
      const batch = this.core.store.listVersions(bucket.bucketId, cursorName, cursorSeq, batchSize);
      let jumped = false;
      for (const f of batch) {
        cursorName = f.fileName;
        cursorSeq = f.seq - 1;
        if (!f.fileName.startsWith(prefix)) {
          if (compareUtf8(f.fileName, prefix) > 0)
            return { files: out, nextFileName: null, nextFileId: null };
          continue;
        }
        if (filter && !f.fileName.startsWith(filter)) continue;
        if (delimiter) {
          const i = f.fileName.indexOf(delimiter, prefix.length);
          if (i >= 0) {
            const folder = f.fileName.slice(0, i + delimiter.length);
            if (folder === lastFolder) continue;
            if (!versions && !this.folderHasVisible(bucket.bucketId, folder)) {
              ({ cursorName, cursorSeq } = skipPast(folder));
              jumped = true;
              break;
            }
            if (out.length === max) return { files: out, nextFileName: folder, nextFileId: null };
            out.push({
              action: 'folder',
              fileName: folder,
              bucketId: bucket.bucketId,
              accountId: this.core.accountId,
            });
            lastFolder = folder;
            ({ cursorName, cursorSeq } = skipPast(folder));
            jumped = true;
            break;
          }
        }
        if (!versions) {
          if (f.action === 'start') continue;
          if (f.fileName === decidedName) continue;
          decidedName = f.fileName;
          if (f.action !== 'upload') continue;
        }
        if (out.length === max)
          return { files: out, nextFileName: f.fileName, nextFileId: versions ? f.fileId : null };
        out.push(f);
      }
      if (!jumped && batch.length < batchSize) return { files: out, nextFileName: null, nextFileId: null };
    }
  }

  /** Whether a folder holds at least one name whose newest finished version is an upload. */
  private folderHasVisible(bucketId: string, folder: string): boolean {
    let cursorName = folder;
    let cursorSeq: number | null = null;
    let decided: string | null = null;
    for (;;) {
      const batch = this.core.store.listVersions(bucketId, cursorName, cursorSeq, 500);
      for (const f of batch) {
        if (!f.fileName.startsWith(folder)) return false;
        cursorName = f.fileName;
        cursorSeq = f.seq - 1;
        if (f.action === 'start' || f.fileName === decided) continue;
        decided = f.fileName;
        if (f.action === 'upload') return true;
      }
      if (batch.length < 500) return false;
    }
  }
}

/** The cursor just past every name starting with `folder` (listing skips the folder's contents). */
function skipPast(folder: string): { cursorName: string; cursorSeq: number | null } {
  const last = folder.charCodeAt(folder.length - 1);
  if (last < 0xffff)
    return { cursorName: folder.slice(0, -1) + String.fromCharCode(last + 1), cursorSeq: null };
  return { cursorName: folder + '\uffff', cursorSeq: null };
}
