/**
 * Conformance: the real b2sdk (Python) against the emulator, unchanged, in three generations —
 * the newest from PyPI (API v4), 2.8 (API v3) and 1.x (POST authorize, API v2), per docs/b2-api.md §1.3. The
 * scenario (scenario.py) runs once per generation; each step below reports its own outcome.
 * The 300 MB file runs only with the newest b2sdk (the large-file path is the same code in 1.x,
 * already exercised by the 30 MiB case) to keep CPU and disk in bounds.
 */
import * as path from 'path';
import { startEmulator, RunningEmulator } from '../../helpers/emulator';
import { cleanEnv, runId, runProcess, tempDir, venvExecutable, Venv } from './support';

interface StepResult {
  step: string;
  ok: boolean;
  error?: string;
  traceback?: string;
  [fact: string]: unknown;
}

const SCENARIO = path.join(__dirname, 'scenario.py');
const STEPS = [
  'authorize',
  'bucket',
  'upload_small',
  'upload_large_30MiB',
  'list_versions',
  'hide',
  'download',
  'copy',
  'folders',
  'update_bucket',
  'download_auth_and_public',
  'unfinished_large_file',
  'names_and_info_encoding',
  'restricted_key',
  'bulk',
  'resilience',
  'cleanup',
];

const GENERATIONS: Array<{ label: string; venv: Venv; heavy: boolean }> = [
  { label: 'b2sdk newest (API v4)', venv: 'venv', heavy: true },
  { label: 'b2sdk 2.8 (API v3)', venv: 'venv-b2sdk28', heavy: false },
  { label: 'b2sdk 1.x (POST authorize, API v2)', venv: 'venv-b2sdk1', heavy: false },
];

describe.each(GENERATIONS)('$label', ({ venv, heavy }) => {
  let emu: RunningEmulator | undefined;
  let results: StepResult[] = [];
  let failure = '';
  let operations: Record<string, number> = {};
  const work = tempDir(`b2sdk-${venv}-`);

  beforeAll(async () => {
    const python = venvExecutable(venv, 'python');
    emu = await startEmulator();
    const cfg = {
      url: emu.url,
      keyId: emu.info.keyId,
      applicationKey: emu.info.applicationKey,
      adminToken: emu.info.adminToken,
      workdir: work.dir,
      runId: runId(),
      heavy,
    };
    const res = await runProcess(python, ['-u', SCENARIO], {
      env: cleanEnv({ B2_CONFORMANCE: JSON.stringify(cfg), PYTHONDONTWRITEBYTECODE: '1' }),
      timeoutMs: 12 * 60_000,
    });
    results = res.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as StepResult);
    operations = ((await emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> })
      .operations;
    const failed = results.find((r) => !r.ok);
    if (failed || res.code !== 0) {
      failure =
        `scenario exited ${res.code ?? res.signal}` +
        (failed ? ` at step "${failed.step}": ${failed.error}\n${failed.traceback ?? ''}` : '') +
        `\n--- python stderr (tail) ---\n${res.stderr.slice(-6000)}` +
        `\n--- emulator stderr (tail) ---\n${emu.logs().slice(-6000)}`;
    }
  }, 15 * 60_000);

  afterAll(async () => {
    await emu?.stop();
    work.cleanup();
  });

  it.each(STEPS)('%s', (step) => {
    const r = results.find((x) => x.step === step);
    if (!r || !r.ok) throw new Error(`step "${step}" did not pass.\n${failure || 'no output for this step'}`);
    expect(r.ok).toBe(true);
    // The bulk case really copied what it claims (200 small files, plus the 300 MB one when heavy).
    if (step === 'bulk') expect(r.files).toBe(heavy ? 201 : 200);
  });

  // The client really took the multi-part and server-side paths (not a fallback to simple calls).
  it('used the large-file, copy-part and download-authorization calls on the wire', () => {
    for (const op of [
      'b2_start_large_file',
      'b2_upload_part',
      'b2_finish_large_file',
      'b2_copy_file',
      'b2_copy_part',
      'b2_get_download_authorization',
      'b2_update_bucket',
      'b2_cancel_large_file',
    ]) {
      expect([op, (operations[op] ?? 0) > 0]).toEqual([op, true]);
    }
  });
});
