/** Types for tools/lib/pulumi-cli.js (plain CommonJS so setup runs before any TypeScript tooling). */

export const PINNED_VERSION: string;
/** `.cache/pulumi/<version>/bin`: pulumi, pulumi-language-nodejs, pulumi-resource-pulumi-nodejs. */
export const BIN_DIR: string;
/** `.cache/pulumi/home`, used as PULUMI_HOME by every invocation. */
export const PULUMI_HOME: string;
export const BUILD_LOG: string;
export const OFFICIAL_INSTALL_HINT: string;

export interface PulumiCli {
  /** Absolute path of the pulumi executable to run. */
  exe: string;
  /** Directory holding it (put first on PATH via pulumiEnv). */
  binDir: string;
  version: string;
  source: 'path' | 'cache' | 'built';
  /** true when the upstream Go language host was built; false = the repository's Node.js host. */
  goHost: boolean;
}

/** Ensures the pinned CLI (PATH, cache, or a Go build) — a stat or two when cached. Throws SetupError. */
export function ensurePulumi(opts?: { force?: boolean; quiet?: boolean }): PulumiCli;

/** The environment for running the CLI: PULUMI_HOME, no update checks/plugin downloads, bin dir on PATH. */
export function pulumiEnv(binDir?: string, base?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;

export function versionAtLeast(a: string, b: string): boolean;
export function nonLocalReplaces(goModText: string): string[];
