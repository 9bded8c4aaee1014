/**
 * Prints the markdown rows of bench/README.md's cli section from a results file, so the table
 * always says exactly what the JSON says:
 *
 *   node bin/run-ts.js bench/cli/table.ts [bench/results/cli.json]
 */
import * as fs from 'fs';
import * as path from 'path';

interface StreamRun {
  medianMBps: number;
  allMBps: number[];
  maxRssMiB: number;
  clientCpuSecPerGiB?: number;
  emulatorCpuSecPerGiB?: number;
  requestsPerGiB: number;
}

interface Results {
  date: string;
  machine: { loadavgAtStart: number[] };
  loadavgAtEnd: number[];
  streamUpload: {
    bytes: number;
    rounds: number;
    runs: Record<'ours' | 'rclone' | 'aws', StreamRun>;
    ratioVsRclone: number;
    ratioVsAws: number;
  };
  peakRss: { bytes: number; parts: number; MBps: number; maxRssMiB: number; targetMiB: number };
  restore100MB: { seconds: number; targetSeconds: number };
  smallFiles: {
    files: number;
    runs: Record<'ours' | 'rclone' | 'aws', { seconds: number }>;
    ratioVsRclone: number;
    ratioVsAws: number;
  };
}

const file = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'results', 'cli.json'));
const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
const s = r.streamUpload;
const tools = ['ours', 'rclone', 'aws'] as const;
const cell = (t: (typeof tools)[number]): string =>
  `${s.runs[t].medianMBps} (${s.runs[t].allMBps.join(', ')})`;
const met = (ok: boolean): string => (ok ? 'met' : '**not met**');
const load = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join('/');
const sf = r.smallFiles;

const rows = [
  `| (a) ${s.bytes / 1024 ** 3} GiB stream upload, MB/s (median of ${s.rounds}; all rounds) | ${cell('ours')} | ${cell('rclone')} | ${cell('aws')} | ≥ 1.0× rclone, ≥ 1.2× aws | ${s.ratioVsRclone}× rclone: ${met(s.ratioVsRclone >= 1)}; ${s.ratioVsAws}× aws: ${met(s.ratioVsAws >= 1.2)} |`,
  `| client CPU during (a), s per GiB (median) | ${tools.map((t) => s.runs[t].clientCpuSecPerGiB).join(' | ')} | | |`,
  `| emulator CPU during (a), s per GiB (median) | ${tools.map((t) => s.runs[t].emulatorCpuSecPerGiB).join(' | ')} | | |`,
  `| peak RSS during (a), MiB | ${tools.map((t) => s.runs[t].maxRssMiB).join(' | ')} | | |`,
  `| (b) peak RSS while streaming ${r.peakRss.bytes / 1024 ** 3} GiB (${r.peakRss.parts} parts, ${r.peakRss.MBps} MB/s) | ${r.peakRss.maxRssMiB} MiB | — | — | ≤ ${r.peakRss.targetMiB} MiB | ${met(r.peakRss.maxRssMiB <= r.peakRss.targetMiB)} |`,
  `| (c) \`restore\` of a 100 MB snapshot through the bin, end to end | ${r.restore100MB.seconds} s | — | — | < ${r.restore100MB.targetSeconds} s | ${met(r.restore100MB.seconds < r.restore100MB.targetSeconds)} |`,
  `| (d) ${sf.files.toLocaleString('en-US')} small files: \`audit-logs\` / \`rclone copy\` / \`aws s3 sync\`, s | ${tools.map((t) => sf.runs[t].seconds).join(' | ')} | (comparison) | ${sf.ratioVsRclone}× rclone, ${sf.ratioVsAws}× aws |`,
  `| (e) S3 requests per GiB streamed | ${tools.map((t) => s.runs[t].requestsPerGiB).join(' | ')} | (fewer is cheaper) | |`,
];
process.stdout.write(
  `Run ${r.date}, load average ${load(r.machine.loadavgAtStart)} (1/5/15 min) at start, ` +
    `${load(r.loadavgAtEnd)} at end, 2 shared cores.\n\n` +
    '| what | ours | rclone | aws CLI | target | verdict |\n|---|---|---|---|---|---|\n' +
    rows.join('\n') +
    '\n',
);
