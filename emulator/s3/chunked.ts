/**
 * Streaming decoder for `Content-Encoding: aws-chunked` bodies (sigv4-streaming.html), as sent by
 * the AWS SDKs for `STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]` and
 * `STREAMING-UNSIGNED-PAYLOAD-TRAILER`:
 *
 *   <hex size>[;chunk-signature=<sig>]\r\n<data>\r\n … 0[;chunk-signature=<sig>]\r\n
 *   [<trailer-name>:<value>\r\n]* [x-amz-trailer-signature:<sig>\r\n] \r\n
 *
 * Emits only the payload bytes, never buffering more than one incoming network chunk. With a
 * `ChunkSigner` every chunk signature is checked as it completes, so a forged chunk fails before
 * the upload is acknowledged. Trailers are collected for the caller (checksum verification).
 */
import { createHash, Hash } from 'crypto';
import { Transform, TransformCallback } from 'stream';
import { S3Error } from './errors';
import { ChunkSigner, EMPTY_SHA256, sameSignature } from './sigv4';

export interface AwsChunkedOptions {
  /** Verify `chunk-signature` on every chunk (signed streaming modes). */
  signer?: ChunkSigner;
  /** Require and verify `x-amz-trailer-signature` (STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER). */
  signedTrailer?: boolean;
}

type State = 'header' | 'data' | 'cr' | 'lf' | 'trailer' | 'done';

/** A chunk header or trailer line longer than this is malformed (real ones are < 200 bytes). */
const MAX_LINE = 8192;

export class AwsChunkedDecoder extends Transform {
  /** Trailing headers by lower-case name, available after 'finish'/'end'. */
  readonly trailers = new Map<string, string>();
  /** Payload bytes emitted so far. */
  decodedLength = 0;

  private state: State = 'header';
  private line = '';
  private remaining = 0;
  private chunkHash: Hash | null = null;
  private chunkSignature = '';
  private trailerText = '';
  private trailerSignatureSeen = false;

  constructor(private readonly opts: AwsChunkedOptions = {}) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    try {
      this.consume(chunk);
      cb();
    } catch (e) {
      cb(e as Error);
    }
  }

  override _flush(cb: TransformCallback): void {
    // Some SDKs omit the final empty line after the trailers; everything else must be complete.
    if (this.state === 'trailer' && this.line === '') this.finishTrailers();
    if (this.state !== 'done') {
      cb(new S3Error('IncompleteBody', 'The aws-chunked body ended before its final zero-length chunk.'));
      return;
    }
    cb();
  }

  private consume(buf: Buffer): void {
    let off = 0;
    while (off < buf.length) {
      switch (this.state) {
        case 'header':
        case 'trailer': {
          const nl = buf.indexOf(0x0a, off);
          const end = nl < 0 ? buf.length : nl;
          this.line += buf.toString('latin1', off, end);
          if (this.line.length > MAX_LINE)
            throw new S3Error('InvalidRequest', 'Malformed aws-chunked body: line too long.');
          off = nl < 0 ? buf.length : nl + 1;
          if (nl >= 0) {
            const text = this.line.endsWith('\r') ? this.line.slice(0, -1) : this.line;
            this.line = '';
            if (this.state === 'header') this.onChunkHeader(text);
            else this.onTrailerLine(text);
          }
          break;
        }
        case 'data': {
          const n = Math.min(this.remaining, buf.length - off);
          const piece = buf.subarray(off, off + n);
          this.chunkHash?.update(piece);
          this.push(piece);
          this.decodedLength += n;
          this.remaining -= n;
          off += n;
          if (this.remaining === 0) {
            this.checkChunkSignature(this.chunkHash ? this.chunkHash.digest('hex') : '');
            this.state = 'cr';
          }
          break;
        }
        case 'cr':
        case 'lf': {
          const want = this.state === 'cr' ? 0x0d : 0x0a;
          if (buf[off] !== want)
            throw new S3Error(
              'InvalidRequest',
              'Malformed aws-chunked body: chunk data not followed by CRLF.',
            );
          off++;
          this.state = this.state === 'cr' ? 'lf' : 'header';
          break;
        }
        case 'done':
          // Tolerate stray whitespace after the terminator; anything else is a framing error.
          for (; off < buf.length; off++) {
            if (buf[off] !== 0x0d && buf[off] !== 0x0a) {
              throw new S3Error('InvalidRequest', 'Malformed aws-chunked body: data after the final chunk.');
            }
          }
          break;
      }
    }
  }

  private onChunkHeader(text: string): void {
    const semi = text.indexOf(';');
    const sizeHex = (semi < 0 ? text : text.slice(0, semi)).trim();
    if (!/^[0-9a-fA-F]{1,16}$/.test(sizeHex)) {
      throw new S3Error(
        'InvalidRequest',
        `Malformed aws-chunked body: bad chunk size "${sizeHex.slice(0, 40)}".`,
      );
    }
    const size = parseInt(sizeHex, 16);
    this.chunkSignature = '';
    if (semi >= 0) {
      const m = /chunk-signature=([0-9a-f]{64})/.exec(text.slice(semi + 1));
      if (m) this.chunkSignature = m[1];
    }
    if (this.opts.signer && !this.chunkSignature) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'A chunk of a signed aws-chunked body carries no chunk-signature.',
      );
    }
    if (size === 0) {
      this.checkChunkSignature(EMPTY_SHA256);
      this.state = 'trailer';
      return;
    }
    this.remaining = size;
    this.chunkHash = this.opts.signer ? createHash('sha256') : null;
    this.state = 'data';
  }

  private checkChunkSignature(chunkSha256: string): void {
    if (!this.opts.signer) return;
    const expected = this.opts.signer.next(chunkSha256);
    if (!sameSignature(expected, this.chunkSignature)) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'The chunk signature of an aws-chunked body does not match.',
      );
    }
  }

  private onTrailerLine(text: string): void {
    if (text === '') {
      this.finishTrailers();
      return;
    }
    // The trailer signature covers the lines before it; a line after it would be unsigned data
    // that could replace a signed checksum.
    if (this.trailerSignatureSeen) {
      throw new S3Error(
        'InvalidRequest',
        'Malformed aws-chunked body: a trailer line follows x-amz-trailer-signature (it would be unsigned).',
      );
    }
    const i = text.indexOf(':');
    if (i <= 0)
      throw new S3Error('InvalidRequest', `Malformed aws-chunked trailer line "${text.slice(0, 60)}".`);
    const name = text.slice(0, i).trim().toLowerCase();
    const value = text.slice(i + 1).trim();
    if (name === 'x-amz-trailer-signature') {
      if (this.opts.signer && this.opts.signedTrailer) {
        const expected = this.opts.signer.trailer(this.trailerText);
        if (!sameSignature(expected, value))
          throw new S3Error(
            'SignatureDoesNotMatch',
            'The trailer signature of an aws-chunked body does not match.',
          );
      }
      this.trailerSignatureSeen = true;
      return;
    }
    if (this.trailers.has(name)) {
      throw new S3Error('InvalidRequest', `Malformed aws-chunked body: the trailer "${name}" is sent twice.`);
    }
    this.trailers.set(name, value);
    this.trailerText += `${name}:${value}\n`;
  }

  private finishTrailers(): void {
    if (this.opts.signer && this.opts.signedTrailer && !this.trailerSignatureSeen) {
      throw new S3Error(
        'SignatureDoesNotMatch',
        'A signed-trailer aws-chunked body carries no x-amz-trailer-signature.',
      );
    }
    this.state = 'done';
  }
}
