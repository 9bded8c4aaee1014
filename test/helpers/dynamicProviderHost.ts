/* eslint-disable @typescript-eslint/no-explicit-any -- the gRPC stubs and protobuf messages from @pulumi/pulumi/proto are untyped JavaScript. */
/**
 * Drives a dynamic provider exactly as the Pulumi engine does: spawns the dynamic-provider host
 * shipped in `@pulumi/pulumi` (`cmd/dynamic-provider`, the program behind
 * `pulumi-resource-pulumi-nodejs`), reads the gRPC port it prints on stdout, and calls the
 * ResourceProvider service (Configure / Check / Diff / Create / Read / Update / Delete) with the
 * generated stubs from `@pulumi/pulumi/proto`. The provider under test travels the way it does in
 * a real deployment: as serialised text in the `__provider` property.
 *
 * Only the exact PID started here is stopped.
 */
import { ChildProcess } from 'child_process';
import { endTree, spawnTracked, tagOf } from './processes';
import * as path from 'path';
import * as readline from 'readline';
import * as grpc from '@grpc/grpc-js';
import * as pulumi from '@pulumi/pulumi';

const ROOT = path.resolve(__dirname, '..', '..');
const PULUMI_DIR = path.dirname(require.resolve('@pulumi/pulumi/package.json'));
const HOST = path.join(PULUMI_DIR, 'cmd', 'dynamic-provider', 'index.js');
const provproto = require(path.join(PULUMI_DIR, 'proto', 'provider_pb.js'));
const provrpc = require(path.join(PULUMI_DIR, 'proto', 'provider_grpc_pb.js'));
const structproto = require('google-protobuf/google/protobuf/struct_pb');
const statusproto = require(path.join(PULUMI_DIR, 'proto', 'status_pb.js'));

/** A resource created but not fully initialised (create threw with an `id`), as the engine sees it. */
export interface InitFailure {
  id: string;
  properties: Props;
  reasons: string[];
}

/** Decodes `ErrorResourceInitFailed` from the `grpc-status-details-bin` trailer, if present. */
function initFailureOf(err: grpc.ServiceError): InitFailure | undefined {
  const bin = err.metadata?.get('grpc-status-details-bin')?.[0];
  if (!bin) return undefined;
  const status = statusproto.Status.deserializeBinary(new Uint8Array(bin as Buffer));
  for (const any of status.getDetailsList()) {
    const detail = any.unpack(
      provproto.ErrorResourceInitFailed.deserializeBinary,
      'pulumirpc.ErrorResourceInitFailed',
    );
    if (detail)
      return {
        id: detail.getId(),
        properties: fromStruct(detail.getProperties()),
        reasons: detail.getReasonsList(),
      };
  }
  return undefined;
}

export const PROJECT = 'infrafabric-backup';
export const STACK = 'providertest';

export type Props = Record<string, any>;

export interface DiffResponse {
  changes: 'unknown' | 'none' | 'some';
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export interface CheckResponse {
  inputs: Props;
  failures: Array<{ property: string; reason: string }>;
}

export interface ProviderHost {
  readonly pid: number;
  configure(config: Record<string, string>): Promise<void>;
  check(urn: string, olds: Props, news: Props): Promise<CheckResponse>;
  diff(urn: string, id: string, olds: Props, news: Props): Promise<DiffResponse>;
  create(urn: string, props: Props): Promise<{ id: string; properties: Props }>;
  read(
    urn: string,
    id: string,
    props: Props,
    inputs?: Props,
  ): Promise<{ id: string; properties: Props; inputs?: Props }>;
  update(urn: string, id: string, olds: Props, news: Props): Promise<{ properties: Props }>;
  delete(urn: string, id: string, props: Props): Promise<void>;
  /** Everything the host wrote on stderr (provider progress lines, errors). */
  stderr(): string;
  /**
   * Waits (bounded, 10 s) until stderr matches: the host writes its log lines asynchronously, so
   * a line may arrive just after the gRPC answer it belongs to. Fails like `toMatch` on timeout.
   */
  expectStderr(pattern: RegExp): Promise<void>;
  stop(): Promise<void>;
}

/** The `__provider` text Pulumi would store for `provider` (same call as `dynamic.Resource`). */
export async function serializeProvider(provider: pulumi.dynamic.ResourceProvider): Promise<string> {
  const sf = await pulumi.runtime.serializeFunction(() => provider, { allowSecrets: true });
  if (sf.containsSecrets) throw new Error('the serialised provider captured a Pulumi secret');
  return sf.text;
}

export function urnOf(type: string, name: string): string {
  return `urn:pulumi:${STACK}::${PROJECT}::${type}::${name}`;
}

const toStruct = (o: Props) => structproto.Struct.fromJavaScript(o);
const fromStruct = (s: any): Props => (s ? s.toJavaScript() : {});

export async function startProviderHost(
  opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ProviderHost> {
  const proc: ChildProcess = spawnTracked('provider-host', process.execPath, [HOST, '127.0.0.1:1'], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, PULUMI_NODEJS_PROJECT: PROJECT, PULUMI_NODEJS_STACK: STACK, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 400_000) stderr = stderr.slice(-200_000);
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`dynamic provider host printed no port within 20 s; stderr:\n${stderr}`));
    }, 20_000);
    readline.createInterface({ input: proc.stdout! }).once('line', (line) => {
      clearTimeout(timer);
      resolve(Number(line.trim()));
    });
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(
        new Error(`dynamic provider host exited (${code}) before printing its port; stderr:\n${stderr}`),
      );
    });
  });
  const client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  const call = <T>(method: string, req: unknown): Promise<T> =>
    new Promise((resolve, reject) => {
      client[method](req, (err: grpc.ServiceError | null, res: T) => {
        if (err)
          reject(
            Object.assign(new Error(err.details || err.message), {
              code: err.code,
              initFailure: initFailureOf(err),
            }),
          );
        else resolve(res);
      });
    });

  const typeName = (urn: string) => urn.split('::')[2];
  const name = (urn: string) => urn.split('::')[3];

  return {
    pid: proc.pid!,
    async configure(config) {
      const req = new provproto.ConfigureRequest();
      req.setArgs(toStruct(config));
      req.setAcceptsecrets(true);
      await call('configure', req);
    },
    async check(urn, olds, news) {
      const req = new provproto.CheckRequest();
      req.setUrn(urn).setName(name(urn)).setType(typeName(urn));
      req.setOlds(toStruct(olds));
      req.setNews(toStruct(news));
      const res = await call<any>('check', req);
      return {
        inputs: fromStruct(res.getInputs()),
        failures: res
          .getFailuresList()
          .map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
      };
    },
    async diff(urn, id, olds, news) {
      const req = new provproto.DiffRequest();
      req.setUrn(urn).setId(id).setName(name(urn)).setType(typeName(urn));
      req.setOlds(toStruct(olds));
      req.setNews(toStruct(news));
      const res = await call<any>('diff', req);
      const C = provproto.DiffResponse.DiffChanges;
      const changes =
        res.getChanges() === C.DIFF_SOME ? 'some' : res.getChanges() === C.DIFF_NONE ? 'none' : 'unknown';
      return { changes, replaces: res.getReplacesList(), deleteBeforeReplace: res.getDeletebeforereplace() };
    },
    async create(urn, props) {
      const req = new provproto.CreateRequest();
      req.setUrn(urn).setName(name(urn)).setType(typeName(urn));
      req.setProperties(toStruct(props));
      const res = await call<any>('create', req);
      return { id: res.getId(), properties: fromStruct(res.getProperties()) };
    },
    async read(urn, id, props, inputs) {
      const req = new provproto.ReadRequest();
      req.setUrn(urn).setId(id).setName(name(urn)).setType(typeName(urn));
      req.setProperties(toStruct(props));
      if (inputs) req.setInputs(toStruct(inputs));
      const res = await call<any>('read', req);
      return {
        id: res.getId(),
        properties: fromStruct(res.getProperties()),
        inputs: res.getInputs() ? fromStruct(res.getInputs()) : undefined,
      };
    },
    async update(urn, id, olds, news) {
      const req = new provproto.UpdateRequest();
      req.setUrn(urn).setId(id).setName(name(urn)).setType(typeName(urn));
      req.setOlds(toStruct(olds));
      req.setNews(toStruct(news));
      const res = await call<any>('update', req);
      return { properties: fromStruct(res.getProperties()) };
    },
    async delete(urn, id, props) {
      const req = new provproto.DeleteRequest();
      req.setUrn(urn).setId(id).setName(name(urn)).setType(typeName(urn));
      req.setProperties(toStruct(props));
      await call('delete', req);
    },
    stderr: () => stderr,
    async expectStderr(pattern: RegExp) {
      const deadline = Date.now() + 10_000;
      while (!pattern.test(stderr) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      expect(stderr).toMatch(pattern);
    },
    async stop() {
      client.close();
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(t);
      }
      const tag = tagOf(proc);
      if (tag) await endTree(tag);
    },
  };
}

/**
 * One resource's engine round trip: Check then Create, returning the state the engine would
 * store (properties include `__provider`).
 */
export async function checkAndCreate(
  host: ProviderHost,
  urn: string,
  inputs: Props,
): Promise<{ id: string; state: Props; checked: Props }> {
  const checked = await host.check(urn, {}, inputs);
  if (checked.failures.length) throw new Error(`check failed: ${JSON.stringify(checked.failures)}`);
  const created = await host.create(urn, checked.inputs);
  return { id: created.id, state: created.properties, checked: checked.inputs };
}
