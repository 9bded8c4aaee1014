/**
 * SigV4 verification against the example requests published in the AWS S3 documentation
 * ("Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk",
 * "Transferring Payload in Multiple Chunks", "Authenticating Requests: Using Query Parameters").
 * The requests and expected signatures below are the documented ones; the verifier must accept
 * them exactly and refuse them when anything signed changes.
 *
 * The last block cross-checks random requests against @smithy/signature-v4 — in the test only; the
 * emulator never imports a client signer.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac, Hash, Hmac } from 'crypto';
import { S3Error } from '../../../emulator/s3/errors';
import {
  canonicalUri,
  ChunkSigner,
  deriveSigningKey,
  requireSignedAmzHeaders,
  SignableRequest,
  verifyRequest,
  sha256Hex,
  STREAMING_SIGNED,
} from '../../../emulator/s3/sigv4';

const AKID = 'AKIAIOSFODNN7EXAMPLE';
const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const DOC_NOW = Date.UTC(2013, 4, 24, 0, 5, 0); // five minutes after the examples were signed
const lookup = (id: string): string | undefined => (id === AKID ? SECRET : undefined);

function authHeader(signed: string, sig: string): string {
  return `AWS4-HMAC-SHA256 Credential=${AKID}/20130524/us-east-1/s3/aws4_request,SignedHeaders=${signed},Signature=${sig}`;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof S3Error) return e.code;
    throw e;
  }
  return 'ok';
}

const getObject: SignableRequest = {
  method: 'GET',
  rawPath: '/test.txt',
  rawQuery: '',
  headers: [
    ['Host', 'examplebucket.s3.amazonaws.com'],
    ['Range', 'bytes=0-9'],
    ['x-amz-content-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['x-amz-date', '20130524T000000Z'],
    [
      'Authorization',
      authHeader(
        'host;range;x-amz-content-sha256;x-amz-date',
        'f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
      ),
    ],
  ],
};

const putObject: SignableRequest = {
  method: 'PUT',
  rawPath: '/test%24file.text',
  rawQuery: '',
  headers: [
    ['Host', 'examplebucket.s3.amazonaws.com'],
    ['Date', 'Fri, 24 May 2013 00:00:00 GMT'],
    ['x-amz-date', '20130524T000000Z'],
    ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
    ['x-amz-content-sha256', sha256Hex('Welcome to Amazon S3.')],
    [
      'Authorization',
      authHeader(
        'date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class',
        '98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd',
      ),
    ],
  ],
};

const getLifecycle: SignableRequest = {
  method: 'GET',
  rawPath: '/',
  rawQuery: 'lifecycle',
  headers: [
    ['Host', 'examplebucket.s3.amazonaws.com'],
    ['x-amz-date', '20130524T000000Z'],
    ['x-amz-content-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'Authorization',
      authHeader(
        'host;x-amz-content-sha256;x-amz-date',
        'fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
      ),
    ],
  ],
};

const listObjects: SignableRequest = {
  method: 'GET',
  rawPath: '/',
  rawQuery: 'max-keys=2&prefix=J',
  headers: [
    ['Host', 'examplebucket.s3.amazonaws.com'],
    ['x-amz-date', '20130524T000000Z'],
    ['x-amz-content-sha256', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    [
      'Authorization',
      authHeader(
        'host;x-amz-content-sha256;x-amz-date',
        '34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7',
      ),
    ],
  ],
};

const presigned: SignableRequest = {
  method: 'GET',
  rawPath: '/test.txt',
  rawQuery:
    'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request' +
    '&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host' +
    '&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404',
  headers: [['Host', 'examplebucket.s3.amazonaws.com']],
};

describe('SigV4 header auth: AWS documented examples', () => {
  it.each([
    ['GET object with Range', getObject],
    ['PUT object with signed payload and a $ in the key', putObject],
    ['GET bucket lifecycle (valueless subresource)', getLifecycle],
    ['GET bucket list with query', listObjects],
  ])('accepts %s', (_name, req) => {
    const auth = verifyRequest(req, { nowMs: DOC_NOW, lookupSecret: lookup });
    expect(auth.accessKeyId).toBe(AKID);
    expect(auth.region).toBe('us-east-1');
    expect(auth.presigned).toBe(false);
  });

  it('reports the payload contract: signed hash for PUT', () => {
    const auth = verifyRequest(putObject, { nowMs: DOC_NOW, lookupSecret: lookup });
    expect(auth.payloadMode).toBe('signed');
    expect(auth.payloadSha256).toBe('44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072');
  });

  it('wrong secret → SignatureDoesNotMatch', () => {
    expect(codeOf(() => verifyRequest(getObject, { nowMs: DOC_NOW, lookupSecret: () => SECRET + 'x' }))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('a signed header changed in transit → SignatureDoesNotMatch', () => {
    const tampered = {
      ...getObject,
      headers: getObject.headers.map(([k, v]) => [k, k === 'Range' ? 'bytes=0-10' : v] as [string, string]),
    };
    expect(codeOf(() => verifyRequest(tampered, { nowMs: DOC_NOW, lookupSecret: lookup }))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('query changed → SignatureDoesNotMatch', () => {
    expect(
      codeOf(() =>
        verifyRequest(
          { ...listObjects, rawQuery: 'max-keys=3&prefix=J' },
          { nowMs: DOC_NOW, lookupSecret: lookup },
        ),
      ),
    ).toBe('SignatureDoesNotMatch');
  });

  it('unknown access key → InvalidAccessKeyId', () => {
    expect(codeOf(() => verifyRequest(getObject, { nowMs: DOC_NOW, lookupSecret: () => undefined }))).toBe(
      'InvalidAccessKeyId',
    );
  });

  it('clock skew beyond 15 minutes → RequestTimeTooSkewed, either direction', () => {
    const signedAt = Date.UTC(2013, 4, 24);
    const at = (min: number): string =>
      codeOf(() => verifyRequest(getObject, { nowMs: signedAt + min * 60_000, lookupSecret: lookup }));
    expect(at(15.1)).toBe('RequestTimeTooSkewed');
    expect(at(-15.1)).toBe('RequestTimeTooSkewed');
    expect(at(14.9)).toBe('ok');
    expect(at(-14.9)).toBe('ok');
  });

  it('Signature V2 is refused', () => {
    const v2 = {
      ...getObject,
      headers: [
        ['Host', 'x'],
        ['Authorization', `AWS ${AKID}:abc=`],
      ] as Array<[string, string]>,
    };
    expect(codeOf(() => verifyRequest(v2, { nowMs: DOC_NOW, lookupSecret: lookup }))).toBe('InvalidRequest');
  });
});

describe('SigV4 presigned URLs', () => {
  it('accepts the documented presigned GET', () => {
    const auth = verifyRequest(presigned, { nowMs: DOC_NOW, lookupSecret: lookup });
    expect(auth.presigned).toBe(true);
    expect(auth.payloadMode).toBe('unsigned');
  });

  it('expired after X-Amz-Expires → AccessDenied', () => {
    expect(
      codeOf(() => verifyRequest(presigned, { nowMs: Date.UTC(2013, 4, 25, 0, 0, 1), lookupSecret: lookup })),
    ).toBe('AccessDenied');
    expect(
      codeOf(() =>
        verifyRequest(presigned, { nowMs: Date.UTC(2013, 4, 24, 23, 59, 59), lookupSecret: lookup }),
      ),
    ).toBe('ok');
  });

  it('tampered expiry → SignatureDoesNotMatch', () => {
    const longer = {
      ...presigned,
      rawQuery: presigned.rawQuery.replace('X-Amz-Expires=86400', 'X-Amz-Expires=86401'),
    };
    expect(codeOf(() => verifyRequest(longer, { nowMs: DOC_NOW, lookupSecret: lookup }))).toBe(
      'SignatureDoesNotMatch',
    );
  });

  it('X-Amz-Expires above 7 days is malformed', () => {
    const tooLong = {
      ...presigned,
      rawQuery: presigned.rawQuery.replace('X-Amz-Expires=86400', 'X-Amz-Expires=604801'),
    };
    expect(codeOf(() => verifyRequest(tooLong, { nowMs: DOC_NOW, lookupSecret: lookup }))).toBe(
      'AuthorizationQueryParametersError',
    );
  });
});

describe('SigV4 streaming: documented aws-chunked example', () => {
  // PUT /examplebucket/chunkObject.txt, 66560 bytes of "a" in chunks of 65536 and 1024.
  const seed = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
  const req: SignableRequest = {
    method: 'PUT',
    rawPath: '/examplebucket/chunkObject.txt',
    rawQuery: '',
    headers: [
      ['Host', 's3.amazonaws.com'],
      ['x-amz-date', '20130524T000000Z'],
      ['x-amz-storage-class', 'REDUCED_REDUNDANCY'],
      ['x-amz-content-sha256', STREAMING_SIGNED],
      ['Content-Encoding', 'aws-chunked'],
      ['x-amz-decoded-content-length', '66560'],
      ['Content-Length', '66824'],
      [
        'Authorization',
        authHeader(
          'content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;x-amz-storage-class',
          seed,
        ),
      ],
    ],
  };

  it('accepts the seed signature and chains the documented chunk signatures', () => {
    const auth = verifyRequest(req, { nowMs: DOC_NOW, lookupSecret: lookup });
    expect(auth.payloadMode).toBe('streaming-signed');
    const signer = new ChunkSigner(auth.signingKey, auth.amzDate, auth.scope, auth.signature);
    expect(signer.next(sha256Hex(Buffer.alloc(65536, 'a')))).toBe(
      'ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648',
    );
    expect(signer.next(sha256Hex(Buffer.alloc(1024, 'a')))).toBe(
      '0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497',
    );
    expect(signer.next(sha256Hex(Buffer.alloc(0)))).toBe(
      'b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9',
    );
  });
});

describe('canonical URI', () => {
  it('re-encodes once and keeps slashes', () => {
    expect(canonicalUri('/b/a%20b/c+d/%E2%82%AC')).toBe('/b/a%20b/c%2Bd/%E2%82%AC');
    expect(canonicalUri('/b/x=y!(1)')).toBe('/b/x%3Dy%21%281%29');
  });
});

const extendedEncode = (s: string): string =>
  encodeURIComponent(s).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());

/** Minimal @smithy Checksum over node:crypto (the SDK's own sha256 package is not installed here). */
class Sha256 {
  private h: Hash | Hmac;
  constructor(private readonly secret?: string | Uint8Array) {
    this.h = secret ? createHmac('sha256', secret) : createHash('sha256');
  }
  update(data: string | Uint8Array): void {
    this.h.update(data);
  }
  async digest(): Promise<Uint8Array> {
    return this.h.digest();
  }
  reset(): void {
    this.h = this.secret ? createHmac('sha256', this.secret) : createHash('sha256');
  }
}

describe('cross-check with @smithy/signature-v4 (test-only reference signer)', () => {
  const signer = new SignatureV4({
    credentials: { accessKeyId: AKID, secretAccessKey: SECRET },
    region: 'us-west-004',
    service: 's3',
    sha256: Sha256 as unknown as ConstructorParameters<typeof SignatureV4>[0]['sha256'],
    uriEscapePath: false, // S3 does not double-encode
    applyChecksum: false,
  });
  const keys = [
    'plain.txt',
    'dir/sub/file name.bin',
    'ünïcødé/€.txt',
    "odd!'()*&$@=;:+,?.txt",
    'tilde~under_score-dash.x',
  ];
  it.each(keys)('verifies a header-signed request for key %j', async (key) => {
    const now = new Date();
    // The SDK's serializer encodes the path (extendedEncodeURIComponent); the signer takes it as is.
    const path = '/bucket-one/' + key.split('/').map(extendedEncode).join('/');
    const signed = await signer.sign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 9000,
        path,
        query: { 'list-type': '2', prefix: 'a b/ü', 'max-keys': '5' },
        headers: {
          host: '127.0.0.1:9000',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          'x-amz-meta-note': '  spaced   value ',
        },
      },
      { signingDate: now },
    );
    const rawQuery = Object.entries(signed.query!)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const req: SignableRequest = {
      method: 'GET',
      rawPath: path,
      rawQuery,
      headers: Object.entries(signed.headers),
    };
    expect(verifyRequest(req, { nowMs: now.getTime(), lookupSecret: lookup }).region).toBe('us-west-004');
    // The same request signed with another key must fail.
    expect(
      codeOf(() => verifyRequest(req, { nowMs: now.getTime(), lookupSecret: () => 'other-secret' })),
    ).toBe('SignatureDoesNotMatch');
  });

  it('verifies a presigned PUT from the reference signer', async () => {
    const now = new Date();
    const url = await signer.presign(
      {
        method: 'PUT',
        protocol: 'http:',
        hostname: '127.0.0.1',
        port: 9000,
        path: '/bucket-one/up%20load.txt',
        headers: { host: '127.0.0.1:9000', 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      { signingDate: now, expiresIn: 60 },
    );
    const rawQuery = Object.entries(url.query!)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    const req: SignableRequest = {
      method: 'PUT',
      rawPath: '/bucket-one/up%20load.txt',
      rawQuery,
      headers: [['host', '127.0.0.1:9000']],
    };
    expect(verifyRequest(req, { nowMs: now.getTime() + 30_000, lookupSecret: lookup }).presigned).toBe(true);
    expect(codeOf(() => verifyRequest(req, { nowMs: now.getTime() + 61_000, lookupSecret: lookup }))).toBe(
      'AccessDenied',
    );
  });

  it('derives the documented signing key shape (32 bytes)', () => {
    expect(deriveSigningKey(SECRET, '20130524', 'us-east-1')).toHaveLength(32);
  });
});

describe('every x-amz-* header must be signed', () => {
  const h = (pairs: Record<string, string>): Map<string, string> => new Map(Object.entries(pairs));
  it('refuses unsigned x-amz-* headers, naming them', () => {
    expect(() =>
      requireSignedAmzHeaders(h({ host: 'x', 'x-amz-copy-source': '/b/k', 'x-amz-meta-a': '1' }), ['host']),
    ).toThrow(
      expect.objectContaining({
        code: 'AccessDenied',
        message: 'There were headers present in the request which were not signed',
        fields: { HeadersNotSigned: 'x-amz-copy-source, x-amz-meta-a' },
      }) as unknown as Error,
    );
  });
  it('accepts signed ones, other unsigned headers, and an unsigned x-amz-content-sha256', () => {
    expect(() =>
      requireSignedAmzHeaders(
        h({
          host: 'x',
          'x-amz-date': 'd',
          'x-amz-content-sha256': 'UNSIGNED-PAYLOAD',
          'user-agent': 'u',
          'x-amzn-trace-id': 't',
        }),
        ['host', 'x-amz-date'],
      ),
    ).not.toThrow();
  });
});
