// @ts-check
'use strict';
/**
 * End-to-end smoke check of the pinned CLI (`node tools/ensure-pulumi.js --smoke`): in a temp
 * dir, a tiny TypeScript program with one dynamic resource, config and a secret goes through
 * login (file:// backend) → stack init → up → preview --expect-no-changes → destroy → stack rm.
 * It proves the CLI, the language host and the dynamic-provider plugin work together.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { ROOT, SetupError, log, run } = require('./proc');
const { pulumiEnv } = require('./pulumi-cli');

const PROGRAM = `import * as pulumi from '@pulumi/pulumi';

const provider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: { name: string }) {
    return { id: \`greeting-\${inputs.name}\`, outs: { ...inputs, greeting: \`hello \${inputs.name}\` } };
  },
};

class Greeting extends pulumi.dynamic.Resource {
  public readonly greeting!: pulumi.Output<string>;
  constructor(name: string, args: { name: pulumi.Input<string> }) {
    super(provider, name, { ...args, greeting: undefined }, {});
  }
}

const config = new pulumi.Config();
const greeting = new Greeting('smoke', { name: config.require('who') });
export const message = greeting.greeting;
export const tokenLength = config.requireSecret('token').apply((t) => t.length);
`;

/**
 * @param {import('./pulumi-cli').PulumiCli} cli
 * @returns {{ seconds: number }}
 */
function smokeTest(cli) {
  const started = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pulumi-smoke-'));
  try {
    fs.writeFileSync(
      path.join(dir, 'Pulumi.yaml'),
      'name: smoke\nruntime:\n  name: nodejs\n  options:\n    typescript: true\n',
    );
    fs.writeFileSync(
      path.join(dir, 'package.json'),
      JSON.stringify({
        name: 'smoke',
        private: true,
        main: 'index.ts',
        dependencies: { '@pulumi/pulumi': '*' },
      }),
    );
    fs.writeFileSync(path.join(dir, 'index.ts'), PROGRAM);
    // The program resolves @pulumi/pulumi from the repository's install.
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'));
    fs.mkdirSync(path.join(dir, 'state'));
    const env = { ...pulumiEnv(cli.binDir), PULUMI_CONFIG_PASSPHRASE: 'smoke-test-passphrase' };
    const fix = 'read the pulumi output above; rebuild with node tools/ensure-pulumi.js --force';
    const pulumi = (/** @type {string[]} */ args, capture = false) =>
      run(cli.exe, [...args, '--non-interactive'], { cwd: dir, env, fix, capture });
    log('smoke', `pulumi up/preview/destroy of a dynamic resource in ${dir}`);
    pulumi(['login', `file://${path.join(dir, 'state')}`]);
    pulumi(['stack', 'init', 'smoke']);
    pulumi(['config', 'set', 'who', 'world']);
    pulumi(['config', 'set', '--secret', 'token', 'not-a-real-secret']);
    pulumi(['up', '--yes', '--skip-preview']);
    const outputs = JSON.parse(pulumi(['stack', 'output', '--json', '--show-secrets'], true));
    if (outputs.message !== 'hello world' || outputs.tokenLength !== 17) {
      throw new SetupError(`smoke stack outputs are wrong: ${JSON.stringify(outputs)}`, fix);
    }
    const state = fs.readFileSync(
      path.join(dir, 'state', '.pulumi', 'stacks', 'smoke', 'smoke.json'),
      'utf8',
    );
    if (state.includes('not-a-real-secret'))
      throw new SetupError('the secret config value is in the state in plaintext', fix);
    pulumi(['preview', '--expect-no-changes']);
    pulumi(['destroy', '--yes', '--skip-preview']);
    pulumi(['stack', 'rm', '--yes', 'smoke']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const seconds = Math.round((Date.now() - started) / 1000);
  log('smoke', `passed in ${seconds}s`);
  return { seconds };
}

module.exports = { smokeTest };
