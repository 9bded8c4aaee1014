/**
 * Generated Pulumi project directories.
 *
 * `pulumi stack init` with the passphrase secrets provider writes an `encryptionsalt` into
 * `Pulumi.<stack>.yaml`, and the CLI re-serialises config values it touches. Run against the
 * repository's own directory, `npm start` and every test would dirty committed files. So each run
 * gets a small project directory of its own: a copy of the repository's `Pulumi.yaml` whose `main`
 * points (relatively) at the repository's program, plus `Pulumi.<stack>.yaml` built from the
 * repository's stack file (or a given config) with the salt of the previous run kept.
 *
 * The program still runs from the repository: `main` is a relative path to `stacks/`, and the
 * dynamic providers' thin loader finds `infra/providers/` from `INFRAFABRIC_BACKUP_ROOT` or by
 * walking up from the working directory (infra/providers/loader.ts).
 */
import * as fs from 'fs';
import * as path from 'path';
import { parse, stringify } from 'yaml';
import { REPO_ROOT } from './pulumi';

export interface ProjectDirOptions {
  /** Where to write Pulumi.yaml and Pulumi.<stack>.yaml (created if missing). */
  dir: string;
  stack: string;
  /**
   * Stack config (`project:key` → value). Default: the `config:` of the repository's
   * `Pulumi.<stack>.yaml`.
   */
  config?: Record<string, unknown>;
  /** Program directory (`main`). Default `<repo>/stacks`. */
  programDir?: string;
  /** Repository root whose Pulumi.yaml is copied. Default this checkout. */
  repoRoot?: string;
  /**
   * The committed stack file to copy (config and, when it has them, `encryptionsalt` /
   * `secretsprovider` / `encryptedkey`, which then win over the working copy's). Default
   * `<repoRoot>/Pulumi.<stack>.yaml`; `config` overrides its config.
   */
  stackFile?: string;
  /**
   * Keep the working copy's own salt when the committed file has none (default true). `npm run
   * pulumi` passes false: its working copy may have been used with another backend, whose salt
   * would then fail as "incorrect passphrase"; without one the CLI takes the stack's salt from
   * its state.
   */
  keepWorkingCopySalt?: boolean;
}

const SECRETS_KEYS = ['secretsprovider', 'encryptedkey', 'encryptionsalt'] as const;

/** Reads a stack file's secrets-provider settings (salt etc.), empty when missing. */
export function readStackSecrets(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  const doc = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
  return Object.fromEntries(SECRETS_KEYS.filter((k) => doc[k] !== undefined).map((k) => [k, doc[k]]));
}

/** Reads a stack file's `config:` map (empty when the file is missing). */
export function readStackConfig(file: string): Record<string, unknown> {
  if (!fs.existsSync(file)) return {};
  const doc = (parse(fs.readFileSync(file, 'utf8')) ?? {}) as { config?: Record<string, unknown> };
  return { ...(doc.config ?? {}) };
}

/**
 * Writes (or refreshes) the project directory and returns its path. Idempotent: the stack file's
 * `encryptionsalt` (and `secretsprovider`, if any) from an earlier run is preserved, the config is
 * replaced by the current one, so a config change in the repository reaches the next run.
 */
export function writeProjectDir(opts: ProjectDirOptions): string {
  const repoRoot = opts.repoRoot ?? REPO_ROOT;
  const programDir = opts.programDir ?? path.join(repoRoot, 'stacks');
  fs.mkdirSync(opts.dir, { recursive: true });

  const project = parse(fs.readFileSync(path.join(repoRoot, 'Pulumi.yaml'), 'utf8')) as Record<
    string,
    unknown
  >;
  // Relative: Pulumi joins `main` onto the project directory.
  project.main = path.relative(opts.dir, programDir) + path.sep;
  writeIfChanged(path.join(opts.dir, 'Pulumi.yaml'), stringify(project));

  const stackFile = path.join(opts.dir, `Pulumi.${opts.stack}.yaml`);
  const previous = fs.existsSync(stackFile)
    ? ((parse(fs.readFileSync(stackFile, 'utf8')) ?? {}) as Record<string, unknown>)
    : {};
  const committed = opts.stackFile ?? path.join(repoRoot, `Pulumi.${opts.stack}.yaml`);
  const config = opts.config ?? readStackConfig(committed);
  const doc: Record<string, unknown> = { config };
  // The committed file's salt wins (GitOps: every checkout decrypts the same secrets); else keep
  // the one the CLI wrote into the working copy on an earlier run.
  const committedSecrets = readStackSecrets(committed);
  const secrets = Object.keys(committedSecrets).length
    ? committedSecrets
    : opts.keepWorkingCopySalt === false
      ? {}
      : previous;
  for (const k of SECRETS_KEYS) if (secrets[k] !== undefined) doc[k] = secrets[k];
  writeIfChanged(stackFile, stringify(doc));
  return opts.dir;
}

function writeIfChanged(file: string, text: string): void {
  if (fs.existsSync(file) && fs.readFileSync(file, 'utf8') === text) return;
  fs.writeFileSync(file, text);
}
