/**
 * S3-compatible API of the emulator (b2-api.md §10–12). Placeholder until the S3 layer lands:
 * the server dispatches every request that is not native (`/b2api/`, `/file/`) or admin
 * (`/__admin/`) here.
 */
import type { IncomingMessage, ServerResponse } from 'http';

export type S3Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function createS3Handler(_ctx: any): S3Handler {
  return async (_req, res) => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NotImplemented</Code><Message>The S3-compatible API is not implemented yet</Message></Error>';
    res.writeHead(501, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  };
}
