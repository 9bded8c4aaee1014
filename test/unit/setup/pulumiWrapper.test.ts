/**
 * tools/pulumi.js (`npm run pulumi -- …`): runs the ensured CLI with the project's environment
 * (pulumiEnv) and the caller's arguments, and exits with the CLI's exit code. The CLI here is a
 * fake `pulumi` on PATH that reports the pinned version and prints what it was started with.
 */
import path from 'path';
import { PINNED_VERSION } from '../../../tools/lib/pulumi-cli';
import { makeSandbox, runNode, Sandbox, writeExecutable } from './sandbox';

let sb: Sandbox;
beforeEach(() => {
  sb = makeSandbox();
  writeExecutable(
    path.join(sb.bin, 'pulumi'),
    `#!/bin/sh
if [ "$1" = version ]; then echo v${PINNED_VERSION}; exit 0; fi
echo "args:$*"
echo "PULUMI_HOME=$PULUMI_HOME"
echo "PATH=$PATH"
echo "PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=$PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK"
echo "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=$PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION"
echo "PULUMI_DISABLE_REGISTRY_RESOLVE=$PULUMI_DISABLE_REGISTRY_RESOLVE"
echo "PULUMI_SKIP_UPDATE_CHECK=$PULUMI_SKIP_UPDATE_CHECK"
echo "PASSPHRASE=$PULUMI_CONFIG_PASSPHRASE"
exit 7
`,
  );
});
afterEach(() => sb.cleanup());

it('passes the arguments through, sets the project environment and returns the exit code', () => {
  const res = runNode(
    [path.join(sb.root, 'tools', 'pulumi.js'), 'stack', 'output', '--json'],
    { PATH: sb.bin, HOME: sb.root, PULUMI_CONFIG_PASSPHRASE: 'from-caller', PULUMI_HOME: '/elsewhere' },
    sb.root,
  );
  expect(res.status).toBe(7);
  const binDir = path.join(sb.cache, 'pulumi', PINNED_VERSION, 'bin');
  expect(res.stdout.split('\n')).toEqual([
    'args:stack output --json',
    `PULUMI_HOME=${path.join(sb.cache, 'pulumi', 'home')}`, // always ours, even if the caller set one
    `PATH=${[binDir, sb.bin, sb.bin].join(':')}`, // our bin dir (plugins) first, then the CLI's
    'PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK=true',
    'PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true',
    'PULUMI_DISABLE_REGISTRY_RESOLVE=true',
    'PULUMI_SKIP_UPDATE_CHECK=true',
    'PASSPHRASE=from-caller',
    '',
  ]);
});
