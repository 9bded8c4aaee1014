/**
 * Prints the markdown tables of bench/README.md's cli section from a results file, so the tables
 * always say exactly what the JSON says:
 *
 *   node bin/run-ts.js bench/cli/table.ts [bench/results/cli.json]
 */
import * as fs from 'fs';
import * as path from 'path';

interface Run {
  medianMBps: number;
  allMBps: number[];
  allLoadavg1?: number[];
  maxRssMiB: number;
  clientCpuSecPerGiB?: number;
  allClientCpuSecPerGiB?: number[];
  emulatorCpuSecPerGiB?: number;
  requestsPerGiB?: number;
}

const UP = ['ours', 'ours-md5', 'rcloneB2', 'rclone', 'aws'] as const;
const DOWN = ['ours-stdout', 'ours-file', 'rclone', 'rcloneB2', 'aws'] as const;

interface Results {
  date: string;
  machine: { loadavgAtStart: number[] };
  loadavgAtEnd: number[];
  streamUpload: {
    date?: string;
    bytes: number;
    rounds: number;
    runs: Record<(typeof UP)[number], Run>;
    ratioVsRclone: number;
    ratioVsRcloneB2: number;
    ratioVsAws: number;
    cpuRatioVsRcloneB2: number;
    cpuRatioCrc32VsMd5?: number;
    ratioCrc32VsMd5?: number;
  };
  restore: {
    date?: string;
    bytes: number;
    rounds: number;
    runs: Record<(typeof DOWN)[number], Run>;
    stdoutVsRcloneCat: number;
    fileVsRcloneCat: number;
    stdoutCpuVsRcloneCat: number;
    fileCpuVsRcloneCat: number;
  };
  peakRss: {
    date?: string;
    bytes: number;
    parts: number;
    MBps: number;
    maxRssMiB: number;
    targetMiB: number;
  };
  restore100MB: { date?: string; seconds: number; targetSeconds: number };
  smallFiles: {
    date?: string;
    files: number;
    runs: Record<'ours' | 'rclone' | 'aws', { seconds: number }>;
    ratioVsRclone: number;
    ratioVsAws: number;
  };
}

const file = path.resolve(process.argv[2] ?? path.join(__dirname, '..', 'results', 'cli.json'));
const r = JSON.parse(fs.readFileSync(file, 'utf8')) as Results;
const met = (ok: boolean): string => (ok ? 'met' : '**not met**');
const load = (xs: number[]): string => xs.map((x) => x.toFixed(1)).join('/');
const list = (xs: (number | undefined)[] | undefined): string => (xs ?? []).map((x) => x ?? '–').join(', ');
const out: string[] = [];

const s = r.streamUpload;
out.push(
  `Run ${s.date ?? r.date}: load average ${load(r.machine.loadavgAtStart)} (1/5/15 min) at start, ` +
    `${load(r.loadavgAtEnd)} at end, on 2 shared cores.`,
  '',
  `**Upload** — ${s.bytes / 1024 ** 3} GiB stream, median of ${s.rounds} rotated rounds (all rounds and each round's 1-minute load average in brackets):`,
  '',
  '| tool | MB/s (rounds) | client CPU s/GiB (rounds) | emulator CPU s/GiB | peak RSS MiB | requests/GiB | load avg per round |',
  '|---|---|---|---|---|---|---|',
  ...UP.filter((t) => s.runs[t]).map((t) => {
    const x = s.runs[t];
    return `| ${t} | ${x.medianMBps} (${list(x.allMBps)}) | ${x.clientCpuSecPerGiB} (${list(x.allClientCpuSecPerGiB)}) | ${x.emulatorCpuSecPerGiB} | ${x.maxRssMiB} | ${x.requestsPerGiB} | ${list(x.allLoadavg1)} |`;
  }),
  '',
  `Targets (issue 11 §13): client CPU ≤ rclone native b2 — ours/rcloneB2 = **${s.cpuRatioVsRcloneB2}×**: ${met(s.cpuRatioVsRcloneB2 <= 1)}; ` +
    `throughput ≥ 1.2× aws — **${s.ratioVsAws}×**: ${met(s.ratioVsAws >= 1.2)}; ≥ 1.0× rclone s3 — ${s.ratioVsRclone}×: ${met(s.ratioVsRclone >= 1)}; vs rclone b2 ${s.ratioVsRcloneB2}×.` +
    (s.cpuRatioCrc32VsMd5 !== undefined
      ? ` CRC32 headers vs Content-MD5 (\`ours-md5\`, \`BACKUP_S3_CHECKSUM=md5\`), same run: client CPU ${s.cpuRatioCrc32VsMd5}×, throughput ${s.ratioCrc32VsMd5}×.`
      : ''),
  '',
);

const d = r.restore;
out.push(
  `**Restore** — one ${d.bytes / 1024 ** 3} GiB object (single PUT with its SHA-256 in metadata), median of ${d.rounds} rotated rounds; stdout goes into a pipe the benchmark drains:`,
  '',
  '| tool | MB/s (rounds) | client CPU s/GiB (rounds) | emulator CPU s/GiB | peak RSS MiB | load avg per round |',
  '|---|---|---|---|---|---|',
  ...DOWN.map((t) => {
    const x = d.runs[t];
    return `| ${t} | ${x.medianMBps} (${list(x.allMBps)}) | ${x.clientCpuSecPerGiB} (${list(x.allClientCpuSecPerGiB)}) | ${x.emulatorCpuSecPerGiB} | ${x.maxRssMiB} | ${list(x.allLoadavg1)} |`;
  }),
  '',
  `Targets (issue 11 §14): throughput ≥ 1.0× \`rclone cat\` over S3 — to a file **${d.fileVsRcloneCat}×**: ${met(d.fileVsRcloneCat >= 1)}, to stdout **${d.stdoutVsRcloneCat}×**: ${met(d.stdoutVsRcloneCat >= 1)}; ` +
    `client CPU ≤ rclone cat — file ${d.fileCpuVsRcloneCat}×, stdout ${d.stdoutCpuVsRcloneCat}×: ${met(Math.max(d.fileCpuVsRcloneCat, d.stdoutCpuVsRcloneCat) <= 1)}.`,
  '',
);

const sf = r.smallFiles;
out.push(
  '**Earlier sections** (not re-run in this run; each from its own date):',
  '',
  '| what | ours | rclone | aws CLI | target | verdict | run |',
  '|---|---|---|---|---|---|---|',
  `| (b) peak RSS while streaming ${r.peakRss.bytes / 1024 ** 3} GiB (${r.peakRss.parts} parts, ${r.peakRss.MBps} MB/s) | ${r.peakRss.maxRssMiB} MiB | — | — | ≤ ${r.peakRss.targetMiB} MiB | ${met(r.peakRss.maxRssMiB <= r.peakRss.targetMiB)} | ${r.peakRss.date ?? ''} |`,
  `| (c) \`restore\` of a 100 MB snapshot through the bin, end to end | ${r.restore100MB.seconds} s | — | — | < ${r.restore100MB.targetSeconds} s | ${met(r.restore100MB.seconds < r.restore100MB.targetSeconds)} | ${r.restore100MB.date ?? ''} |`,
  `| (d) ${sf.files.toLocaleString('en-US')} small files: \`audit-logs\` / \`rclone copy\` / \`aws s3 sync\`, s | ${sf.runs.ours.seconds} | ${sf.runs.rclone.seconds} | ${sf.runs.aws.seconds} | (comparison) | ${sf.ratioVsRclone}× rclone, ${sf.ratioVsAws}× aws | ${sf.date ?? ''} |`,
);
process.stdout.write(out.join('\n') + '\n');
