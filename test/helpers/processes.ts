/**
 * Tests end what they start (docs/conventions.md §10). Every process tree a test starts — the CLI,
 * the Pulumi engine and its plugins, the emulator, database servers — is started here, in its own
 * process group, with an environment tag its whole tree inherits:
 *
 *   IFB_TEST_RUN   one value per `npm test` run (test/globalSetup.ts), inherited by every worker
 *   IFB_TEST_TREE  one value per started tree
 *
 * Signalling the group is not enough on its own: the Pulumi CLI starts each plugin in a process
 * group of its own (Go `Setpgid`), and a plugin whose CLI was SIGKILLed is re-parented to init,
 * so neither the group nor the parent link finds it. The tag does: `endTree` signals the group and
 * then every process whose environment carries the tree's tag, and test/globalTeardown.ts fails
 * the run if any process tagged with the run is still alive at the end.
 */
import { ChildProcess, spawn, SpawnOptions } from 'child_process';
import { randomBytes } from 'crypto';
import * as fs from 'fs';

export const RUN_VAR = 'IFB_TEST_RUN';
export const TREE_VAR = 'IFB_TEST_TREE';

/** This run's id (set by globalSetup; a file run without it gets its own). */
export function runId(): string {
  process.env[RUN_VAR] ??= `adhoc-${randomBytes(6).toString('hex')}`;
  return process.env[RUN_VAR]!;
}

export interface Tracked {
  label: string;
  tag: string;
  /** The group leader, when the tree was spawned here. */
  pid?: number;
  child?: ChildProcess;
}

const registry = new Map<string, Tracked>();
let seq = 0;

/** Environment for a new tree: the caller's env plus the run and tree tags. */
export function taggedEnv(
  label: string,
  env: NodeJS.ProcessEnv = process.env,
): { env: NodeJS.ProcessEnv; tag: string } {
  const tag = `${runId()}/${process.pid}/${++seq}/${label.replace(/[^\w.-]/g, '_')}`;
  return { env: { ...env, [RUN_VAR]: runId(), [TREE_VAR]: tag }, tag };
}

/** `spawn` in a new process group with the tree tags, registered for `endTree` / `endAll`. */
export function spawnTracked(
  label: string,
  command: string,
  args: readonly string[],
  options: SpawnOptions = {},
): ChildProcess {
  const { env, tag } = taggedEnv(label, options.env ?? process.env);
  const child = spawn(command, args, { ...options, env, detached: true });
  if (child.pid !== undefined) register(label, tag, child);
  return child;
}

/**
 * Registers a tree: a child spawned here, or (no child) every process that will run with the
 * `taggedEnv` tag — e.g. all the CLI runs of one Pulumi workspace, which spawns them itself.
 */
export function register(label: string, tag: string, child?: ChildProcess): Tracked {
  const t: Tracked = { label, tag, pid: child?.pid, child };
  // Kept after the leader exits: its tree may live on (plugins), until endTree.
  registry.set(tag, t);
  return t;
}

export interface TaggedProcess {
  pid: number;
  run: string | undefined;
  tree: string | undefined;
  cmdline: string;
}

/** Every live process (this user's, readable) carrying `IFB_TEST_RUN`; Linux /proc only. */
export function taggedProcesses(): TaggedProcess[] {
  if (process.platform !== 'linux') return [];
  const out: TaggedProcess[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    let environ: string;
    try {
      environ = fs.readFileSync(`/proc/${pid}/environ`, 'latin1');
      if (isZombie(pid)) continue;
    } catch {
      continue; // gone, or not ours
    }
    if (!environ.includes(`${RUN_VAR}=`)) continue;
    const vars = new Map<string, string>();
    for (const kv of environ.split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) vars.set(kv.slice(0, i), kv.slice(i + 1));
    }
    let cmdline = '';
    try {
      cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').join(' ').trim();
    } catch {
      /* exited meanwhile */
    }
    out.push({ pid, run: vars.get(RUN_VAR), tree: vars.get(TREE_VAR), cmdline });
  }
  return out;
}

function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    /* already gone */
  }
}

function treeMembers(tag: string): TaggedProcess[] {
  return taggedProcesses().filter((p) => p.tree === tag);
}

/**
 * Ends a tree: SIGTERM to its group and to every process carrying its tag, SIGKILL to whatever is
 * left after `graceMs`. Resolves with what survived even that (normally nothing).
 */
export async function endTree(tagOrTracked: string | Tracked, graceMs = 3000): Promise<TaggedProcess[]> {
  const t = typeof tagOrTracked === 'string' ? registry.get(tagOrTracked) : tagOrTracked;
  const tag = typeof tagOrTracked === 'string' ? tagOrTracked : tagOrTracked.tag;
  const hit = (sig: NodeJS.Signals): void => {
    if (t?.pid !== undefined) signal(-t.pid, sig);
    for (const p of treeMembers(tag)) signal(p.pid, sig);
  };
  hit('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (treeMembers(tag).length > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (treeMembers(tag).length > 0) hit('SIGKILL');
  const killDeadline = Date.now() + 5000;
  let left = treeMembers(tag);
  while (left.length > 0 && Date.now() < killDeadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = treeMembers(tag);
  }
  registry.delete(tag);
  return left;
}

/** The tree tag of a registered child, for `endTree`. */
export function tagOf(child: ChildProcess): string | undefined {
  for (const t of registry.values()) if (t.child === child) return t.tag;
  return undefined;
}

/** Ends every tree this process registered (test/setupProcesses.ts runs it after each file). */
export async function endAll(graceMs = 3000): Promise<TaggedProcess[]> {
  const left: TaggedProcess[] = [];
  for (const t of [...registry.values()]) left.push(...(await endTree(t, graceMs)));
  return left;
}

/** Trees this process started that still have a live member (what a test forgot to end). */
export function liveTrees(): { label: string; processes: TaggedProcess[] }[] {
  const all = taggedProcesses();
  return [...registry.values()]
    .map((t) => ({ label: t.label, processes: all.filter((p) => p.tree === t.tag) }))
    .filter((x) => x.processes.length > 0);
}
