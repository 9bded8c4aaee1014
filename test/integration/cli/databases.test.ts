/**
 * db-dump / db-restore / drill with a real PostgreSQL and a real MariaDB (Debian packages,
 * started in temp dirs on 127.0.0.1) against the emulator.
 */
import { ListMultipartUploadsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'child_process';
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  mariadbAvailable,
  postgresAvailable,
  RunningDatabase,
  startMariadb,
  startPostgres,
} from '../../helpers/databases';
import { cli, Estate, getObjectBytes, listVersionsJson, sdkClient, startEstate } from './fixture';

let estate: Estate;
let tmp: string;

beforeAll(async () => {
  estate = await startEstate();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ifb-cli-db-'));
});

afterAll(async () => {
  await estate?.stop();
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Row count and an order-independent digest per table, computed here, not by the CLI. */
function pgFingerprint(db: RunningDatabase, name: string, tables: string[]): Record<string, string> {
  return Object.fromEntries(
    tables.map((t) => [
      t,
      db
        .sql(
          name,
          `SELECT count(*) || ':' || coalesce(md5(string_agg(x::text, '|' ORDER BY x::text)), '') FROM ${t} x`,
        )
        .trim(),
    ]),
  );
}

function myFingerprint(db: RunningDatabase, name: string, tables: string[]): Record<string, string> {
  return Object.fromEntries(
    tables.map((t) => [
      t,
      db.sql(name, `SELECT COUNT(*) FROM ${t}`).trim() +
        ':' +
        db.sql(name, `CHECKSUM TABLE ${t} EXTENDED`).trim().split('\t')[1],
    ]),
  );
}

function wrapper(name: string, body: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
}

// `npm test` runs tools/setup.js first, which installs both servers: a missing one is a broken
// set-up and fails here rather than silently skipping the database tests.
it('has PostgreSQL and MariaDB servers installed', () => {
  expect({
    postgres: postgresAvailable(),
    mariadb: mariadbAvailable(),
    hint: 'run node tools/setup.js',
  }).toEqual({
    postgres: true,
    mariadb: true,
    hint: 'run node tools/setup.js',
  });
});

const describePg = postgresAvailable() ? describe : describe.skip;
const describeMy = mariadbAvailable() ? describe : describe.skip;

describePg('PostgreSQL', () => {
  let pg: RunningDatabase;
  const tables = ['public.customers', 'public.orders', 'billing.invoices'];

  beforeAll(async () => {
    pg = await startPostgres();
    Object.assign(estate.env, pg.passwordEnv); // PGPASSWORD: passwords never go in --url
    pg.createDatabase('shop');
    pg.sql(
      'shop',
      `CREATE TABLE customers(id serial PRIMARY KEY, name text NOT NULL, email text, created timestamptz DEFAULT now(), meta jsonb);
       INSERT INTO customers(name, email, meta) SELECT 'customer ' || g, CASE WHEN g % 7 = 0 THEN NULL ELSE 'c' || g || '@example.com' END, jsonb_build_object('tier', g % 3) FROM generate_series(1, 3000) g;
       CREATE TABLE orders(id bigserial PRIMARY KEY, customer_id int REFERENCES customers(id), total numeric(12,2), note text, blob bytea);
       INSERT INTO orders(customer_id, total, note, blob) SELECT 1 + g % 3000, g * 1.25, repeat('x', g % 50), decode(md5(g::text), 'hex') FROM generate_series(1, 20000) g;
       CREATE SCHEMA billing;
       CREATE TABLE billing.invoices(id int PRIMARY KEY, amount double precision, paid boolean);
       INSERT INTO billing.invoices SELECT g, g / 3.0, g % 2 = 0 FROM generate_series(1, 500) g;`,
    );
  });

  afterAll(async () => {
    await pg?.stop();
  });

  it('dumps, restores into a fresh database, and the data is identical', async () => {
    const metrics = path.join(tmp, 'pg.prom');
    const dump = await cli(estate, [
      'db-dump',
      '--engine',
      'postgres',
      '--url',
      pg.url('shop'),
      '--json',
      '--metrics-file',
      metrics,
    ]);
    expect(dump.code).toBe(0);
    const d = dump.json<{
      key: string;
      versionId: string;
      tables: { table: string; rows: number }[];
      manifest: { key: string };
    }>();
    expect(d.key).toMatch(/^db\/postgres\/shop\/.*\.dump\.gz$/);
    expect(d.tables.find((t) => t.table === 'public.orders')?.rows).toBe(20000);
    const m = JSON.parse((await getObjectBytes(estate, d.manifest.key)).toString()) as {
      status: string;
      details: { database: { tables: unknown[] } };
    };
    expect(m.status).toBe('ok');
    expect(m.details.database.tables).toHaveLength(3);
    expect((m.details.database as unknown as { sizeBytes: number }).sizeBytes).toBeGreaterThan(1_000_000); // bounds the part size
    expect(fs.readFileSync(metrics, 'utf8')).toMatch(/backup_job_success\{job="db-dump",env="dev"\} 1/);

    pg.createDatabase('shop_restored');
    // The writer-thread spool path (scripts/lib/spoolWriter.ts; this dump is below its 64 MiB
    // default); the MariaDB restore below takes the main-thread path.
    const restore = await cli(
      estate,
      [
        'db-restore',
        '--engine',
        'postgres',
        '--url',
        pg.url('shop_restored'),
        '--key',
        d.key,
        '--version-id',
        d.versionId,
        '--json',
      ],
      { IFB_SPOOL_THREAD: '1' },
    );
    expect(restore.code).toBe(0);
    expect(pgFingerprint(pg, 'shop_restored', tables)).toEqual(pgFingerprint(pg, 'shop', tables));
  });

  it('drill restores the newest dump into a scratch database and reports RTO', async () => {
    const r = await cli(estate, [
      'drill',
      '--engine',
      'postgres',
      '--scratch-url',
      pg.url('postgres'),
      '--database',
      'shop',
      '--json',
    ]);
    expect(r.code).toBe(0);
    const d = r.json<{
      rtoSeconds: number;
      tablesChecked: number;
      diffs: unknown[];
      scratchDatabase: string;
    }>();
    expect(d.tablesChecked).toBe(3);
    expect(d.diffs).toEqual([]);
    expect(d.rtoSeconds).toBeGreaterThan(0);
    expect(
      pg.sql('postgres', `SELECT count(*) FROM pg_database WHERE datname = '${d.scratchDatabase}'`).trim(),
    ).toBe('0');
  });

  it('records statistics of exactly the snapshot pg_dump dumps, even while the database is written', async () => {
    // Rows committed after the statistics were taken but before pg_dump starts: with a shared
    // exported snapshot they are in neither; without it the drill would see 500 extra rows.
    const busy = wrapper(
      'busy_pg_dump',
      `psql -X -q -c "INSERT INTO customers(name) SELECT 'late ' || g FROM generate_series(1, 500) g" >/dev/null || exit 3\nexec pg_dump "$@"`,
    );
    const dump = await cli(estate, ['db-dump', '--engine', 'postgres', '--url', pg.url('shop'), '--json'], {
      BACKUP_PG_DUMP: busy,
    });
    expect(dump.code).toBe(0);
    expect(
      dump
        .json<{ tables: { table: string; rows: number }[] }>()
        .tables.find((t) => t.table === 'public.customers')?.rows,
    ).toBe(3000);
    expect(pg.sql('shop', 'SELECT count(*) FROM customers').trim()).toBe('3500');
    const r = await cli(estate, [
      'drill',
      '--engine',
      'postgres',
      '--scratch-url',
      pg.url('postgres'),
      '--database',
      'shop',
      '--json',
    ]);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ diffs: [] });
  });

  it('drill catches a dump whose restored row counts differ', async () => {
    // A misconfigured dump that silently leaves out a table's rows.
    const lossy = wrapper('lossy_pg_dump', `exec pg_dump --exclude-table-data=public.orders "$@"`);
    const dump = await cli(estate, ['db-dump', '--engine', 'postgres', '--url', pg.url('shop'), '--json'], {
      BACKUP_PG_DUMP: lossy,
    });
    expect(dump.code).toBe(0);
    const r = await cli(estate, [
      'drill',
      '--engine',
      'postgres',
      '--scratch-url',
      pg.url('postgres'),
      '--database',
      'shop',
      '--json',
    ]);
    expect(r.code).toBe(3); // integrity: the restored data differs from what the manifest recorded
    const d = r.json<{ ok: boolean; diffs: { table: string; problem: string }[]; error: string }>();
    expect(d.ok).toBe(false);
    expect(d.diffs).toEqual([
      {
        table: 'public.orders',
        expected: expect.objectContaining({ rows: 20000 }),
        actual: expect.objectContaining({ rows: 0 }),
        problem: 'row count 0, expected 20000',
      },
    ]);
    expect(d.error).toMatch(/public\.orders: row count 0, expected 20000/);
  });

  it('a dump killed midway aborts the multipart upload: no object, no unfinished upload', async () => {
    pg.createDatabase('big');
    pg.sql(
      'big',
      `CREATE TABLE events(id int, payload text); INSERT INTO events SELECT g, md5(random()::text) || md5(random()::text) || md5(random()::text) FROM generate_series(1, 250000) g;`,
    );
    // Emits 16 MB of a real dump (≥ 2 parts of 5 MiB after gzip), then dies by SIGKILL.
    const dying = wrapper('dying_pg_dump', `pg_dump "$@" | head -c 16000000\nkill -9 $$`);
    await fetch(`${estate.emu.url}/__admin/stats`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${estate.emu.info.adminToken}` },
    });
    const r = await cli(
      estate,
      ['db-dump', '--engine', 'postgres', '--url', pg.url('big'), '--part-size', '5MiB', '--json'],
      { BACKUP_PG_DUMP: dying },
    );
    expect(r.code).toBe(1);
    const d = r.json<{ error: string; manifest: { key: string } }>();
    expect(d.error).toMatch(/killed by SIGKILL; the upload was aborted/);
    expect((await listVersionsJson(estate, 'db/postgres/big/')).length).toBe(0);
    const uploads = await sdkClient(estate).send(
      new ListMultipartUploadsCommand({ Bucket: estate.bucket, Prefix: 'db/postgres/big/' }),
    );
    expect(uploads.Uploads ?? []).toEqual([]);
    // It really was mid-multipart when it died, and the upload was aborted, not completed.
    const stats = (await estate.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
    expect(stats.operations['s3:CreateMultipartUpload']).toBe(1);
    expect(stats.operations['s3:UploadPart']).toBeGreaterThanOrEqual(1);
    expect(stats.operations['s3:AbortMultipartUpload']).toBe(1);
    expect(stats.operations['s3:CompleteMultipartUpload']).toBeUndefined();
    const m = JSON.parse((await getObjectBytes(estate, d.manifest.key)).toString()) as {
      status: string;
      objects: { status: string }[];
    };
    expect(m.status).toBe('failed');
    expect(m.objects[0].status).toBe('aborted');
  });

  it('SIGTERM to the CLI mid-upload aborts the multipart upload and exits 143', async () => {
    // The whole dump is produced, then the dump process lingers: the CLI is mid-upload, waiting.
    const slow = wrapper('slow_pg_dump', `pg_dump "$@"\nexec sleep 60`);
    await fetch(`${estate.emu.url}/__admin/stats`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${estate.emu.info.adminToken}` },
    });
    const bin = path.resolve(__dirname, '../../../bin/infrafabric-backup.js');
    const child = spawn(
      process.execPath,
      [bin, 'db-dump', '--engine', 'postgres', '--url', pg.url('big'), '--part-size', '5MiB', '--json'],
      {
        env: { ...estate.env, BACKUP_PG_DUMP: slow },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('close', (code) => r(code)));
    const deadline = Date.now() + 60_000;
    for (;;) {
      const st = (await estate.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
      if ((st.operations['s3:UploadPart'] ?? 0) >= 2) break;
      if (Date.now() > deadline) throw new Error('the upload never started');
      await new Promise((r) => setTimeout(r, 100));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(143); // 128 + SIGTERM (issue 11 §9)
    expect(JSON.parse(stdout)).toMatchObject({
      ok: false,
      error: expect.stringMatching(/interrupted by SIGTERM/),
    });
    expect((await listVersionsJson(estate, 'db/postgres/big/')).length).toBe(0);
    const uploads = await sdkClient(estate).send(
      new ListMultipartUploadsCommand({ Bucket: estate.bucket, Prefix: 'db/postgres/big/' }),
    );
    expect(uploads.Uploads ?? []).toEqual([]);
    const st = (await estate.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> };
    expect(st.operations['s3:AbortMultipartUpload']).toBe(1);
  });

  it('refuses a bad connection with exit 1 and no upload', async () => {
    const before = (await listVersionsJson(estate, 'db/')).length;
    const pw = path.join(tmp, 'wrong-pw');
    fs.writeFileSync(pw, 'wrong\n', { mode: 0o600 });
    const r = await cli(estate, [
      'db-dump',
      '--engine',
      'postgres',
      '--url',
      pg.url('shop'),
      '--password-file',
      pw,
      '--json',
    ]);
    expect(r.code).toBe(1);
    expect(r.json<{ error: string }>().error).toMatch(/password authentication failed/);
    expect((await listVersionsJson(estate, 'db/')).length).toBe(before);
  });

  it('after every dump above (ok, lossy, killed, interrupted) verify reconciles green', async () => {
    const r = await cli(estate, ['verify', '--prefix', 'db/postgres/', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.json<{ listedVersionsChecked: number; checked: number }>()).toMatchObject({
      listedVersionsChecked: expect.any(Number),
      checked: expect.any(Number),
    });
    expect(r.json<{ checked: number }>().checked).toBeGreaterThanOrEqual(3);
  });

  describe('restore safety', () => {
    let dumpKey: string;
    let dumpVersion: string;
    const restoreArgs = (db: string, ...extra: string[]): string[] => [
      'db-restore',
      '--engine',
      'postgres',
      '--url',
      pg.url(db),
      '--database',
      'shop',
      ...extra,
    ];
    const getCount = async (): Promise<number> =>
      ((await estate.emu.admin('GET', '/__admin/stats')) as { operations: Record<string, number> })
        .operations['s3:GetObject'] ?? 0;

    beforeAll(async () => {
      const dump = await cli(estate, ['db-dump', '--engine', 'postgres', '--url', pg.url('shop'), '--json']);
      expect(dump.code).toBe(0);
      ({ key: dumpKey, versionId: dumpVersion } = dump.json<{ key: string; versionId: string }>());
    });

    it('refuses a database that has tables (exit 2, before any download); --clean restores over it', async () => {
      pg.createDatabase('shop_busy');
      pg.sql('shop_busy', 'CREATE TABLE customers(id int); INSERT INTO customers VALUES (42);');
      const before = await getCount();
      const r = await cli(estate, restoreArgs('shop_busy'));
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/database shop_busy already has 1 table\(s\); refusing .* pass --clean/);
      expect(await getCount()).toBe(before);
      expect(pg.sql('shop_busy', 'SELECT id FROM customers').trim()).toBe('42');
      const clean = await cli(estate, restoreArgs('shop_busy', '--clean', '--json'));
      expect(clean.code).toBe(0);
      expect(pgFingerprint(pg, 'shop_busy', tables)).toEqual(pgFingerprint(pg, 'shop', tables));
    });

    it('a replaced dump (another valid dump as a newer version) is refused with exit 3; the newest listed dump restores', async () => {
      pg.createDatabase('other');
      pg.sql('other', 'CREATE TABLE customers(id int); INSERT INTO customers VALUES (1), (2);');
      const other = await cli(estate, [
        'db-dump',
        '--engine',
        'postgres',
        '--url',
        pg.url('other'),
        '--json',
      ]);
      expect(other.code).toBe(0);
      const otherKey = other.json<{ key: string }>().key;
      // Copy the other database's dump over this one's name with a plain SDK client (any key with
      // writeFiles can): valid gzip, valid pg_dump, sha256 metadata that matches its own bytes.
      const bytes = await getObjectBytes(estate, otherKey);
      await sdkClient(estate).send(
        new PutObjectCommand({
          Bucket: estate.bucket,
          Key: dumpKey,
          Body: bytes,
          Metadata: { type: 'db-dump', sha256: createHash('sha256').update(bytes).digest('hex') },
        }),
      );
      pg.createDatabase('shop_r1');
      const r = await cli(estate, restoreArgs('shop_r1', '--key', dumpKey));
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(/no run manifest of db-dump lists version .* \(replaced\?\)/);
      expect(pg.sql('shop_r1', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").trim()).toBe(
        '0',
      );
      // Without --key the newest manifest names the exact version it wrote: the right data.
      const ok = await cli(estate, restoreArgs('shop_r1', '--json'));
      expect(ok.code).toBe(0);
      expect(ok.json()).toMatchObject({ key: dumpKey, versionId: dumpVersion, verified: true });
      expect(pgFingerprint(pg, 'shop_r1', tables)).toEqual(pgFingerprint(pg, 'shop', tables));
    });

    it('bytes that do not match the manifest exit 3 before pg_restore runs', async () => {
      const manifests = (await listVersionsJson(estate, 'manifests/db-dump/')).filter((v) => v.latest);
      let target: { key: string; body: Record<string, unknown> } | undefined;
      for (const m of manifests) {
        const body = JSON.parse((await getObjectBytes(estate, m.key)).toString()) as {
          objects: { key: string; versionId: string; sha256: string }[];
        };
        if (body.objects.some((o) => o.key === dumpKey && o.versionId === dumpVersion))
          target = { key: m.key, body: body as unknown as Record<string, unknown> };
      }
      const saved = JSON.stringify(target!.body);
      const tampered = JSON.parse(saved) as { objects: { key: string; sha256: string }[] };
      tampered.objects.find((o) => o.key === dumpKey)!.sha256 = '0'.repeat(64);
      const put = (b: string): Promise<unknown> =>
        sdkClient(estate).send(new PutObjectCommand({ Bucket: estate.bucket, Key: target!.key, Body: b }));
      await put(JSON.stringify(tampered));
      try {
        pg.createDatabase('shop_r2');
        const r = await cli(estate, restoreArgs('shop_r2', '--key', dumpKey, '--version-id', dumpVersion));
        expect(r.code).toBe(3);
        expect(r.stderr).toMatch(
          /does not match 0{64} recorded in manifests\/db-dump\/.*nothing was written/,
        );
        expect(pg.sql('shop_r2', "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").trim()).toBe(
          '0',
        );
      } finally {
        await put(saved);
      }
    });

    it('a restore tool that exits without reading its input is named with its status and stderr (no EPIPE crash)', async () => {
      const failing = wrapper('failing_pg_restore', 'echo "FATAL: role does not exist" >&2; exit 7');
      pg.createDatabase('shop_r3');
      const r = await cli(estate, restoreArgs('shop_r3', '--json'), { BACKUP_PG_RESTORE: failing });
      expect(r.code).toBe(1);
      expect(r.json<{ error: string }>().error).toMatch(
        /failing_pg_restore exited with status 7( before reading all of the dump)?: FATAL: role does not exist/,
      );
      expect(r.stderr).not.toMatch(/\n\s+at |EPIPE/);
    });
  });
});

describeMy('MariaDB', () => {
  let my: RunningDatabase;
  const tables = ['accounts', 'ledger'];

  beforeAll(async () => {
    my = await startMariadb();
    Object.assign(estate.env, my.passwordEnv); // MYSQL_PWD
    my.createDatabase('bank');
    my.sql(
      'bank',
      `CREATE TABLE accounts(id INT PRIMARY KEY AUTO_INCREMENT, owner VARCHAR(100), opened DATETIME, note TEXT NULL) ENGINE=InnoDB;
       INSERT INTO accounts(owner, opened, note) SELECT CONCAT('owner ', seq), '2026-01-01 00:00:00' + INTERVAL seq MINUTE, IF(seq % 5 = 0, NULL, REPEAT('n', seq % 40)) FROM seq_1_to_2000;
       CREATE TABLE ledger(id BIGINT PRIMARY KEY, account_id INT, amount DECIMAL(14,2), raw VARBINARY(16)) ENGINE=InnoDB;
       INSERT INTO ledger SELECT seq, 1 + seq % 2000, seq * 0.5, UNHEX(MD5(seq)) FROM seq_1_to_10000;`,
    );
  });

  afterAll(async () => {
    await my?.stop();
  });

  it('dumps with mysqldump --single-transaction, restores, and the data is identical', async () => {
    const dump = await cli(estate, ['db-dump', '--engine', 'mysql', '--url', my.url('bank'), '--json']);
    expect(dump.code).toBe(0);
    const d = dump.json<{ key: string; tables: { table: string; rows: number }[] }>();
    expect(d.key).toMatch(/^db\/mysql\/bank\/.*\.sql\.gz$/);
    expect(d.tables).toEqual([
      expect.objectContaining({ table: 'accounts', rows: 2000 }),
      expect.objectContaining({ table: 'ledger', rows: 10000 }),
    ]);
    my.createDatabase('bank_restored');
    const restore = await cli(estate, [
      'db-restore',
      '--engine',
      'mysql',
      '--url',
      my.url('bank_restored'),
      '--database',
      'bank',
      '--json',
    ]);
    expect(restore.code).toBe(0);
    expect(myFingerprint(my, 'bank_restored', tables)).toEqual(myFingerprint(my, 'bank', tables));
  });

  it('drill passes for MariaDB', async () => {
    const r = await cli(estate, ['drill', '--engine', 'mysql', '--scratch-url', my.url('mysql'), '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ tablesChecked: 2, diffs: [] });
  });

  it('refuses a database that has tables (exit 2); --clean restores over it; a failing mysql is named', async () => {
    my.createDatabase('bank_busy');
    my.sql('bank_busy', 'CREATE TABLE accounts(id INT); INSERT INTO accounts VALUES (42);');
    const args = ['db-restore', '--engine', 'mysql', '--url', my.url('bank_busy'), '--database', 'bank'];
    const r = await cli(estate, args);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/database bank_busy already has 1 table\(s\); refusing .* pass --clean/);
    expect(my.sql('bank_busy', 'SELECT id FROM accounts').trim()).toBe('42');
    // Answers the CLI's queries (-e) but dies at once when fed the dump.
    const failing = wrapper(
      'failing_mysql',
      'case " $* " in *" -e "*) exec mariadb "$@";; esac\necho "ERROR 1045: access denied" >&2; exit 1',
    );
    const f = await cli(estate, [...args, '--clean', '--json'], { BACKUP_MYSQL: failing });
    expect(f.code).toBe(1);
    expect(f.json<{ error: string }>().error).toMatch(
      /failing_mysql exited with status 1( before reading all of the dump)?: ERROR 1045: access denied/,
    );
    const clean = await cli(estate, [...args, '--clean']);
    expect(clean.code).toBe(0);
    expect(myFingerprint(my, 'bank_busy', tables)).toEqual(myFingerprint(my, 'bank', tables));
  });
});
