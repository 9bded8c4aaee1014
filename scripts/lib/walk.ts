/**
 * Regular files under a directory, for `snapshot-config` (a directory as tar.gz) and `audit-logs`.
 * Symbolic links are followed — to files and to directories — with a loop guard (a link to a
 * directory already on the current path is not entered). Nothing is dropped silently: broken
 * links, loops and special files (FIFOs, sockets, devices) are returned in `skipped` with the
 * reason, and the jobs print them and put them in `--json`.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface SkippedEntry {
  /** Path relative to the walked directory (`/`-separated). */
  path: string;
  reason: string;
}

export interface WalkResult {
  /** Regular files (directly or through symlinks), relative, in walk order (names sorted per directory). */
  files: string[];
  /** Symlinks that were followed (relative path → target). */
  followed: { path: string; target: string }[];
  skipped: SkippedEntry[];
}

export function walkFiles(dir: string): WalkResult {
  const root = path.resolve(dir);
  const out: WalkResult = { files: [], followed: [], skipped: [] };
  const walk = (rel: string, ancestors: Set<string>): void => {
    const abs = rel ? path.join(root, rel) : root;
    const names = fs.readdirSync(abs).sort((a, b) => a.localeCompare(b)); // the order tar bytes have always had
    for (const name of names) {
      const r = rel ? `${rel}/${name}` : name;
      const p = path.join(abs, name);
      const l = fs.lstatSync(p);
      let st: fs.Stats = l;
      if (l.isSymbolicLink()) {
        const target = fs.readlinkSync(p);
        try {
          st = fs.statSync(p);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          out.skipped.push({
            path: r,
            reason:
              code === 'ELOOP'
                ? `symlink loop (-> ${target})`
                : `broken symlink (-> ${target}: ${code ?? 'unreadable'})`,
          });
          continue;
        }
        if (st.isDirectory()) {
          const real = fs.realpathSync(p);
          if (ancestors.has(real)) {
            out.skipped.push({
              path: r,
              reason: `symlink loop (-> ${target}, a directory already being walked)`,
            });
            continue;
          }
        }
        if (st.isDirectory() || st.isFile()) out.followed.push({ path: r, target });
      }
      if (st.isDirectory()) {
        const real = fs.realpathSync(p);
        walk(r, new Set([...ancestors, real]));
      } else if (st.isFile()) {
        out.files.push(r);
      } else {
        out.skipped.push({ path: r, reason: 'not a regular file (FIFO, socket or device)' });
      }
    }
  };
  walk('', new Set([fs.realpathSync(root)]));
  return out;
}

/** Human lines for a walk: followed links counted, each skipped entry named. */
export function describeWalk(w: WalkResult): string[] {
  return [
    ...(w.followed.length ? [`followed ${w.followed.length} symlink(s)`] : []),
    ...w.skipped.map((s) => `skipped ${s.path}: ${s.reason}`),
  ];
}
