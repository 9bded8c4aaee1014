/**
 * Fails the run if any process a test started is still alive (test/helpers/processes.ts): every
 * process carrying this run's tag, other than jest's own workers, is a leak. Leaks are listed,
 * then killed so they do not outlive the run either.
 */
import * as fs from 'fs';
import { RUN_VAR, TaggedProcess, taggedProcesses } from './helpers/processes';

function parentOf(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Jest's workers (children of this process running jest-worker) carry the tag by inheritance. */
function isJestWorker(p: TaggedProcess): boolean {
  return parentOf(p.pid) === process.pid && /jest-worker|processChild/.test(p.cmdline);
}

export default async function globalTeardown(): Promise<void> {
  const run = process.env[RUN_VAR];
  if (!run) return;
  const leaked = (): TaggedProcess[] => taggedProcesses().filter((p) => p.run === run && !isJestWorker(p));
  // Workers and trees that are ending right now get a moment.
  const deadline = Date.now() + 5000;
  let left = leaked();
  while (left.length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    left = leaked();
  }
  if (left.length === 0) return;
  for (const p of left) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
  const lines = left.map(
    (p) => `  pid ${p.pid} (${p.tree ?? 'untracked child'}): ${p.cmdline.slice(0, 200)}`,
  );
  throw new Error(
    `${left.length} process(es) started by tests were still running after the run (now killed):\n${lines.join('\n')}\n` +
      'Start process trees with test/helpers/processes.ts (spawnTracked) and end them with endTree in the test.',
  );
}
