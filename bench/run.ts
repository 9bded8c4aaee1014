/**
 * `npm run bench`: runs every benchmark in this folder, one after another (they compete for the
 * CPU, so never in parallel), each as its own process exactly as bench/README.md shows it, and
 * stops at the first failure. Each writes its own result file under bench/results/.
 *
 *   npm run bench                      every benchmark (about 20 minutes on 2 cores)
 *   npm run bench -- --only cli,fuzz   some of them
 *   npm run bench -- --list            names and what each measures
 */
import { spawnSync } from 'child_process';
import * as path from 'path';

const ROOT = path.resolve(__dirname, '..');

const BENCHMARKS: { name: string; what: string; args: string[] }[] = [
  {
    name: 'emulator-native',
    what: 'native large-file upload: client, emulator-only, raw loopback',
    args: ['--runs', '5'],
  },
  {
    name: 'emulator-s3',
    what: 'aws CLI and node:http over the S3 API vs the native path',
    args: ['--runs', '3'],
  },
  {
    name: 'cli',
    what: 'backup CLI stream upload vs rclone and aws CLI; RSS; restore; small files',
    args: [],
  },
  {
    name: 'fuzz',
    what: 'generated malformed requests: no 5xx, no reset',
    args: ['--seeds', '5', '--runs', '1000'],
  },
  { name: 'emulator-ab', what: 'emulator A/B against an earlier commit (regression check)', args: [] },
];

function main(argv: string[]): number {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(
      'usage: npm run bench [-- --only NAME[,NAME...]] [--list]\n' +
        'Runs every benchmark of bench/ in turn (see bench/README.md); results go to bench/results/.\n',
    );
    return 0;
  }
  if (argv.includes('--list')) {
    for (const b of BENCHMARKS) process.stdout.write(`${b.name.padEnd(16)} ${b.what}\n`);
    return 0;
  }
  const i = argv.indexOf('--only');
  const only = i >= 0 ? (argv[i + 1] ?? '').split(',').filter(Boolean) : undefined;
  const unknown = (only ?? []).filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0 || (only && only.length === 0)) {
    process.stderr.write(
      `bench: --only needs names from: ${BENCHMARKS.map((b) => b.name).join(', ')}` +
        (unknown.length ? ` (unknown: ${unknown.join(', ')})` : '') +
        '\n',
    );
    return 2;
  }
  for (const b of BENCHMARKS.filter((x) => !only || only.includes(x.name))) {
    process.stderr.write(`[bench] ${b.name}: ${b.what}\n`);
    const r = spawnSync(
      process.execPath,
      [path.join(ROOT, 'bin', 'run-ts.js'), path.join('bench', b.name, 'run.ts'), ...b.args],
      { cwd: ROOT, stdio: 'inherit' },
    );
    if (r.status !== 0) {
      process.stderr.write(`[bench] ${b.name} failed (${r.signal ?? `exit ${r.status}`}); stopping\n`);
      return 1;
    }
  }
  return 0;
}

process.exitCode = main(process.argv.slice(2));
