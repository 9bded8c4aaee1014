/**
 * The process bookkeeping of test/helpers/processes.ts: a tree is ended even when a member left
 * the group (setsid, like the Pulumi CLI's plugins) and was re-parented; the global teardown fails
 * the run, naming the process, when something a test started is still alive.
 */
import { spawn } from 'child_process';
import { endTree, RUN_VAR, spawnTracked, tagOf, taggedProcesses } from '../../helpers/processes';
import globalTeardown from '../../globalTeardown';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return taggedProcesses().some((p) => p.pid === pid);
  } catch {
    return false;
  }
};

async function until(ok: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!ok() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
}

test('endTree ends the group and a member that escaped it (own session, parent gone)', async () => {
  // The leader starts a grandchild in a new session (as the Pulumi CLI starts plugins in their
  // own groups), prints its pid and exits: the grandchild is orphaned and outside the group.
  const leader = spawnTracked('probe', 'sh', ['-c', 'setsid sleep 60 & echo $!; sleep 60'], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const tag = tagOf(leader)!;
  const escaped = await new Promise<number>((r) =>
    leader.stdout!.once('data', (d: Buffer) => r(Number(String(d).trim()))),
  );
  await until(() => alive(escaped));
  expect(
    taggedProcesses()
      .filter((p) => p.tree === tag)
      .map((p) => p.pid),
  ).toEqual(expect.arrayContaining([leader.pid, escaped]));
  process.kill(leader.pid!, 'SIGKILL'); // the leader dies first, as the CLI did
  expect(await endTree(tag, 500)).toEqual([]);
  expect(alive(escaped)).toBe(false);
});

test('global teardown fails the run naming a leftover process, and kills it', async () => {
  const saved = process.env[RUN_VAR];
  process.env[RUN_VAR] = `probe-${process.pid}-${Date.now()}`; // a run of its own: other workers' processes are not ours
  try {
    const child = spawn('sleep', ['60'], { env: { ...process.env }, stdio: 'ignore' });
    await until(() => alive(child.pid!));
    const err = await globalTeardown().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(new RegExp(`pid ${child.pid} \\(untracked child\\): sleep 60`));
    await until(() => !alive(child.pid!));
    expect(alive(child.pid!)).toBe(false);
    await expect(globalTeardown()).resolves.toBeUndefined();
  } finally {
    process.env[RUN_VAR] = saved;
  }
}, 20_000);
