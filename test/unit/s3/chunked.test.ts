/**
 * aws-chunked decoding (sigv4-streaming.html): the documented signed example, the unsigned-with-
 * trailer form recent SDKs send, arbitrary network split points, and forged chunks.
 */
import { Readable } from 'stream';
import { AwsChunkedDecoder, AwsChunkedOptions } from '../../../emulator/s3/chunked';
import { checksumOf } from '../../../emulator/s3/checksums';
import { S3Error } from '../../../emulator/s3/errors';
import { ChunkSigner, deriveSigningKey, sha256Hex } from '../../../emulator/s3/sigv4';

const SECRET = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SEED = '4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9';
const DATE = '20130524T000000Z';
const SCOPE = '20130524/us-east-1/s3/aws4_request';
const docSigner = (): ChunkSigner =>
  new ChunkSigner(deriveSigningKey(SECRET, '20130524', 'us-east-1'), DATE, SCOPE, SEED);

/** The documented body: 65536 + 1024 bytes of "a" and the final chunk, with their signatures. */
function docBody(tamper = false): Buffer {
  const c1 = Buffer.alloc(65536, 'a');
  const c2 = Buffer.alloc(1024, 'a');
  if (tamper) c2[10] = 0x62;
  return Buffer.concat([
    Buffer.from('10000;chunk-signature=ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648\r\n'),
    c1,
    Buffer.from(
      '\r\n400;chunk-signature=0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497\r\n',
    ),
    c2,
    Buffer.from(
      '\r\n0;chunk-signature=b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9\r\n\r\n',
    ),
  ]);
}

/** Feeds `body` in pieces of `step` bytes and collects the output. */
async function decode(
  body: Buffer,
  opts: AwsChunkedOptions,
  step = 7919,
): Promise<{ out: Buffer; dec: AwsChunkedDecoder }> {
  const pieces: Buffer[] = [];
  for (let i = 0; i < body.length; i += step) pieces.push(body.subarray(i, i + step));
  const dec = new AwsChunkedDecoder(opts);
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    Readable.from(pieces)
      .pipe(dec)
      .on('data', (d: Buffer) => chunks.push(d))
      .on('end', resolve)
      .on('error', reject);
    dec.on('error', reject);
  });
  return { out: Buffer.concat(chunks), dec };
}

describe('aws-chunked decoder', () => {
  it.each([1, 13, 4096, 1 << 20])(
    'decodes and verifies the documented signed body (split every %d bytes)',
    async (step) => {
      const { out, dec } = await decode(docBody(), { signer: docSigner() }, step);
      expect(out.length).toBe(66560);
      expect(out.equals(Buffer.alloc(66560, 'a'))).toBe(true);
      expect(dec.decodedLength).toBe(66560);
    },
  );

  it('refuses a body whose chunk data was altered (SignatureDoesNotMatch)', async () => {
    await expect(decode(docBody(true), { signer: docSigner() })).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
    });
  });

  it('refuses a signed body with a chunk lacking its signature', async () => {
    const body = Buffer.from('3\r\nabc\r\n0\r\n\r\n');
    await expect(decode(body, { signer: docSigner() })).rejects.toBeInstanceOf(S3Error);
  });

  it('decodes STREAMING-UNSIGNED-PAYLOAD-TRAILER bodies and collects the checksum trailer', async () => {
    const data = Buffer.from('hello aws-chunked world, with a trailer');
    const crc = checksumOf('crc32', data);
    const body = Buffer.from(
      `${data.length.toString(16)}\r\n${data}\r\n0\r\nx-amz-checksum-crc32:${crc}\r\n\r\n`,
    );
    const { out, dec } = await decode(body, {}, 5);
    expect(out.toString()).toBe(data.toString());
    expect(dec.trailers.get('x-amz-checksum-crc32')).toBe(crc);
  });

  it('accepts a trailer section without the final empty line (some SDK versions)', async () => {
    const body = Buffer.from('2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\n');
    const { out, dec } = await decode(body, {});
    expect(out.toString()).toBe('hi');
    expect(dec.trailers.get('x-amz-checksum-crc32')).toBe('AAAAAA==');
  });

  it('verifies a signed trailer (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER)', async () => {
    const key = deriveSigningKey(SECRET, '20130524', 'us-east-1');
    const client = new ChunkSigner(key, DATE, SCOPE, SEED);
    const data = Buffer.from('signed with trailer');
    const s1 = client.next(sha256Hex(data));
    const s0 = client.next(sha256Hex(Buffer.alloc(0)));
    const trailer = `x-amz-checksum-crc32:${checksumOf('crc32', data)}`;
    const ts = client.trailer(trailer + '\n');
    const body = Buffer.from(
      `${data.length.toString(16)};chunk-signature=${s1}\r\n${data}\r\n0;chunk-signature=${s0}\r\n${trailer}\r\nx-amz-trailer-signature:${ts}\r\n\r\n`,
    );
    const ok = await decode(body, { signer: new ChunkSigner(key, DATE, SCOPE, SEED), signedTrailer: true });
    expect(ok.out.toString()).toBe(data.toString());
    const forged = Buffer.from(body.toString().replace(trailer, 'x-amz-checksum-crc32:AAAAAA=='));
    await expect(
      decode(forged, { signer: new ChunkSigner(key, DATE, SCOPE, SEED), signedTrailer: true }),
    ).rejects.toMatchObject({
      code: 'SignatureDoesNotMatch',
    });
  });

  it('refuses a trailer line after x-amz-trailer-signature (it would override a signed one)', async () => {
    const key = deriveSigningKey(SECRET, '20130524', 'us-east-1');
    const client = new ChunkSigner(key, DATE, SCOPE, SEED);
    const data = Buffer.from('signed, then an unsigned override');
    const s1 = client.next(sha256Hex(data));
    const s0 = client.next(sha256Hex(Buffer.alloc(0)));
    // the signed trailer carries a wrong CRC; the unsigned line after the signature the right one
    const signedLine = 'x-amz-checksum-crc32:AAAAAA==';
    const ts = client.trailer(signedLine + '\n');
    const body = Buffer.from(
      `${data.length.toString(16)};chunk-signature=${s1}\r\n${data}\r\n0;chunk-signature=${s0}\r\n` +
        `${signedLine}\r\nx-amz-trailer-signature:${ts}\r\nx-amz-checksum-crc32:${checksumOf('crc32', data)}\r\n\r\n`,
    );
    await expect(
      decode(body, { signer: new ChunkSigner(key, DATE, SCOPE, SEED), signedTrailer: true }),
    ).rejects.toMatchObject({ code: 'InvalidRequest' });
  });

  it('refuses a trailer sent twice', async () => {
    const body = Buffer.from(
      '2\r\nhi\r\n0\r\nx-amz-checksum-crc32:AAAAAA==\r\nx-amz-checksum-crc32:BBBBBB==\r\n\r\n',
    );
    await expect(decode(body, {})).rejects.toMatchObject({ code: 'InvalidRequest' });
  });

  it('a body cut short is IncompleteBody', async () => {
    await expect(decode(Buffer.from('a\r\n01234'), {})).rejects.toMatchObject({ code: 'IncompleteBody' });
  });

  it('a bad size line is InvalidRequest', async () => {
    await expect(decode(Buffer.from('zz\r\nabc\r\n0\r\n\r\n'), {})).rejects.toMatchObject({
      code: 'InvalidRequest',
    });
  });
});

describe('checksums', () => {
  // Catalogue check values for "123456789".
  const check = Buffer.from('123456789');
  const hex = (b64: string): string => Buffer.from(b64, 'base64').toString('hex');
  it('crc32 / crc32c / crc64nvme match their catalogue check values', () => {
    expect(hex(checksumOf('crc32', check))).toBe('cbf43926');
    expect(hex(checksumOf('crc32c', check))).toBe('e3069283');
    expect(hex(checksumOf('crc64nvme', check))).toBe('ae8b14860a799888');
  });
  it('sha1 / sha256 are base64 digests', () => {
    expect(hex(checksumOf('sha256', check))).toBe(sha256Hex(check));
    expect(hex(checksumOf('sha1', Buffer.alloc(0)))).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
  });
});
