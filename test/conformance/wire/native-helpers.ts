/**
 * Plain-HTTP helpers for the native wire tests: written from docs/b2-api.md with `fetch`, never through
 * our client, so neither side can hide the other's mistakes.
 */
import { createHash } from 'crypto';
import type { RunningEmulator } from '../../helpers/emulator';

export interface WireResponse {
  status: number;
  headers: Headers;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
  text: string;
}

export const sha1 = (b: Buffer | string): string => createHash('sha1').update(b).digest('hex');

export async function wire(url: string, init: RequestInit = {}): Promise<WireResponse> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : null;
  } catch {
    json = null; // blank or non-JSON bodies (HEAD, downloads)
  }
  return { status: res.status, headers: res.headers, json, text };
}

export const basic = (keyId: string, key: string): string =>
  'Basic ' + Buffer.from(`${keyId}:${key}`).toString('base64');

/** A session on one API version with one key. */
export class Session {
  constructor(
    readonly url: string,
    readonly version: number,
    readonly token: string,
    readonly accountId: string,
    readonly auth: Record<string, unknown>,
  ) {}

  static async open(url: string, version: number, keyId: string, key: string): Promise<Session> {
    const r = await wire(`${url}/b2api/v${version}/b2_authorize_account`, {
      headers: { authorization: basic(keyId, key) },
    });
    if (r.status !== 200) throw new Error(`authorize v${version} -> ${r.status} ${r.text}`);
    return new Session(url, version, r.json.authorizationToken, r.json.accountId, r.json);
  }

  static master(emu: RunningEmulator, version = 2): Promise<Session> {
    return Session.open(emu.url, version, emu.info.keyId, emu.info.applicationKey);
  }

  /** POST a JSON call. */
  call(name: string, body: Record<string, unknown> = {}, version = this.version): Promise<WireResponse> {
    return wire(`${this.url}/b2api/v${version}/${name}`, {
      method: 'POST',
      headers: { authorization: this.token, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  /** GET a call with query parameters. */
  get(name: string, query: Record<string, string>): Promise<WireResponse> {
    const qs = new URLSearchParams(query).toString();
    return wire(`${this.url}/b2api/v${this.version}/${name}?${qs}`, {
      headers: { authorization: this.token },
    });
  }

  /** Call that must succeed; returns the JSON. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async ok(name: string, body: Record<string, unknown> = {}): Promise<any> {
    const r = await this.call(name, body);
    if (r.status !== 200) throw new Error(`${name} -> ${r.status} ${r.text}`);
    return r.json;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  async createBucket(name: string, extra: Record<string, unknown> = {}): Promise<any> {
    return this.ok('b2_create_bucket', {
      accountId: this.accountId,
      bucketName: name,
      bucketType: 'allPrivate',
      ...extra,
    });
  }

  /** Upload through a fresh upload URL; `headers` override the defaults. */
  async upload(
    bucketId: string,
    fileName: string,
    data: Buffer | string,
    headers: Record<string, string> = {},
  ): Promise<WireResponse> {
    const u = await this.ok('b2_get_upload_url', { bucketId });
    const body = Buffer.from(data);
    return wire(u.uploadUrl, {
      method: 'POST',
      headers: {
        authorization: u.authorizationToken,
        'x-bz-file-name': encodeURIComponent(fileName).replace(/%2F/g, '/'),
        'content-type': 'b2/x-auto',
        'x-bz-content-sha1': sha1(body),
        ...headers,
      },
      body,
    });
  }

  async uploadOk(
    bucketId: string,
    fileName: string,
    data: Buffer | string,
    headers: Record<string, string> = {},
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
  ): Promise<any> {
    const r = await this.upload(bucketId, fileName, data, headers);
    if (r.status !== 200) throw new Error(`upload ${fileName} -> ${r.status} ${r.text}`);
    return r.json;
  }
}

let counter = 0;
/** A bucket name unique within the test run (B2 names are global). */
export const bucketName = (tag: string): string =>
  `t-${tag}-${process.pid}-${Date.now().toString(36)}-${counter++}`.slice(0, 63).toLowerCase();
