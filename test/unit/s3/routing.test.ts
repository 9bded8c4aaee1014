/** S3 routing and XML body parsing (pure, no sockets). */
import { S3Error, fromB2Error } from '../../../emulator/s3/errors';
import { bucketFromHost, refineForCopy, route } from '../../../emulator/s3/router';
import {
  parseCompleteMultipartUpload,
  parseDeleteObjects,
  parseEncryptionConfiguration,
  parseLifecycleConfiguration,
  renderXml,
} from '../../../emulator/s3/xml';

const q = (s: string): Map<string, string> =>
  new Map(
    s
      .split('&')
      .filter(Boolean)
      .map((p) => {
        const i = p.indexOf('=');
        return (i < 0 ? [p, ''] : [p.slice(0, i), p.slice(i + 1)]) as [string, string];
      }),
  );

function op(method: string, path: string, query = '', host = '127.0.0.1:9000'): string {
  return route(method, host, path, q(query)).operation;
}

function errCode(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    return (e as S3Error).code;
  }
}

describe('S3 routing', () => {
  it.each([
    ['GET', '/', '', 'ListBuckets'],
    ['PUT', '/bucket-a', '', 'CreateBucket'],
    ['HEAD', '/bucket-a', '', 'HeadBucket'],
    ['DELETE', '/bucket-a/', '', 'DeleteBucket'],
    ['GET', '/bucket-a', 'location', 'GetBucketLocation'],
    ['GET', '/bucket-a', 'versioning', 'GetBucketVersioning'],
    ['GET', '/bucket-a', 'versions&prefix=x', 'ListObjectVersions'],
    ['GET', '/bucket-a', 'list-type=2&max-keys=5', 'ListObjectsV2'],
    ['GET', '/bucket-a', 'prefix=a&marker=b', 'ListObjects'],
    ['GET', '/bucket-a', 'uploads', 'ListMultipartUploads'],
    ['PUT', '/bucket-a', 'encryption', 'PutBucketEncryption'],
    ['PUT', '/bucket-a', 'lifecycle', 'PutBucketLifecycleConfiguration'],
    ['POST', '/bucket-a', 'delete', 'DeleteObjects'],
    ['GET', '/bucket-a/k/e/y', '', 'GetObject'],
    ['GET', '/bucket-a/k', 'versionId=4_z&x-id=GetObject', 'GetObject'],
    ['HEAD', '/bucket-a/k', '', 'HeadObject'],
    ['PUT', '/bucket-a/k', '', 'PutObject'],
    ['POST', '/bucket-a/k', 'uploads', 'CreateMultipartUpload'],
    ['PUT', '/bucket-a/k', 'partNumber=1&uploadId=u', 'UploadPart'],
    ['POST', '/bucket-a/k', 'uploadId=u', 'CompleteMultipartUpload'],
    ['DELETE', '/bucket-a/k', 'uploadId=u', 'AbortMultipartUpload'],
    ['GET', '/bucket-a/k', 'uploadId=u', 'ListParts'],
    ['DELETE', '/bucket-a/k', 'versionId=v', 'DeleteObject'],
  ])('%s %s?%s → %s', (method, path, query, expected) => {
    expect(op(method, path, query)).toBe(expected);
  });

  it('decodes bucket and key', () => {
    const r = route('GET', '127.0.0.1', '/bucket-a/dir/a%20b%2Bc.txt', q(''));
    expect(r.bucket).toBe('bucket-a');
    expect(r.key).toBe('dir/a b+c.txt');
  });

  it('unsupported subresources answer NotImplemented, never success', () => {
    for (const [m, path, query] of [
      ['PUT', '/bucket-a/k', 'tagging'],
      ['GET', '/bucket-a', 'policy'],
      ['PUT', '/bucket-a', 'website'],
      ['PUT', '/bucket-a', 'versioning'],
      ['GET', '/bucket-a', 'replication'],
      ['POST', '/bucket-a/k', 'restore'],
    ]) {
      expect(errCode(() => route(m, 'h', path, q(query)))).toBe('NotImplemented');
    }
  });

  it('copy refinement', () => {
    const r = route('PUT', 'h', '/bucket-a/k', q('partNumber=2&uploadId=u'));
    expect(refineForCopy(r, true).operation).toBe('UploadPartCopy');
    expect(refineForCopy(route('PUT', 'h', '/bucket-a/k', q('')), true).operation).toBe('CopyObject');
  });

  it('virtual-host style', () => {
    expect(bucketFromHost('my-bucket.localhost:1234')).toBe('my-bucket');
    expect(bucketFromHost('my-bucket.s3.us-west-004.backblazeb2.com')).toBe('my-bucket');
    expect(bucketFromHost('s3.us-west-004.backblazeb2.com')).toBeNull();
    expect(bucketFromHost('127.0.0.1:9000')).toBeNull();
    const r = route('GET', 'my-bucket.localhost:1234', '/some/key', q(''));
    expect([r.bucket, r.key, r.operation]).toEqual(['my-bucket', 'some/key', 'GetObject']);
  });
});

describe('S3 XML bodies', () => {
  it('CompleteMultipartUpload: parts with quoted ETags', () => {
    const body = Buffer.from(
      '<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Part><ETag>"aa"</ETag><PartNumber>1</PartNumber></Part>' +
        '<Part><ETag>bb</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>',
    );
    expect(parseCompleteMultipartUpload(body)).toEqual([
      { partNumber: 1, etag: 'aa' },
      { partNumber: 2, etag: 'bb' },
    ]);
    expect(
      errCode(() =>
        parseCompleteMultipartUpload(Buffer.from('<CompleteMultipartUpload></CompleteMultipartUpload>')),
      ),
    ).toBe('MalformedXML');
    expect(errCode(() => parseCompleteMultipartUpload(Buffer.from('<oops')))).toBe('MalformedXML');
  });

  it('Delete: one object stays a list; keys keep leading zeros', () => {
    const r = parseDeleteObjects(
      Buffer.from(
        '<Delete><Quiet>true</Quiet><Object><Key>007</Key><VersionId>v1</VersionId></Object></Delete>',
      ),
    );
    expect(r).toEqual({ quiet: true, objects: [{ key: '007', versionId: 'v1' }] });
  });

  it('Lifecycle: the B2-supported subset, transitions refused', () => {
    const rules = parseLifecycleConfiguration(
      Buffer.from(
        '<LifecycleConfiguration><Rule><ID>logs</ID><Filter><Prefix>logs/</Prefix></Filter><Status>Enabled</Status>' +
          '<Expiration><Days>30</Days></Expiration><NoncurrentVersionExpiration><NoncurrentDays>7</NoncurrentDays></NoncurrentVersionExpiration>' +
          '<AbortIncompleteMultipartUpload><DaysAfterInitiation>2</DaysAfterInitiation></AbortIncompleteMultipartUpload></Rule></LifecycleConfiguration>',
      ),
    );
    expect(rules).toEqual([
      {
        id: 'logs',
        prefix: 'logs/',
        enabled: true,
        expirationDays: 30,
        expiredObjectDeleteMarker: false,
        noncurrentDays: 7,
        abortIncompleteDays: 2,
      },
    ]);
    expect(
      errCode(() =>
        parseLifecycleConfiguration(
          Buffer.from(
            '<LifecycleConfiguration><Rule><Status>Enabled</Status><Transition><Days>1</Days></Transition></Rule></LifecycleConfiguration>',
          ),
        ),
      ),
    ).toBe('NotImplemented');
  });

  it('Encryption: AES256 only', () => {
    const ok =
      '<ServerSideEncryptionConfiguration><Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm></ApplyServerSideEncryptionByDefault></Rule></ServerSideEncryptionConfiguration>';
    expect(parseEncryptionConfiguration(Buffer.from(ok))).toBe('AES256');
    expect(errCode(() => parseEncryptionConfiguration(Buffer.from(ok.replace('AES256', 'aws:kms'))))).toBe(
      'InvalidArgument',
    );
  });

  it('renders escaped, repeated elements', () => {
    expect(renderXml('R', { A: ['x<y', 'z'], B: { C: 1 }, D: undefined }, false)).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<R><A>x&lt;y</A><A>z</A><B><C>1</C></B></R>',
    );
  });
});

describe('B2 → S3 error mapping', () => {
  it('maps codes and keeps Retry-After', () => {
    expect(fromB2Error({ status: 400, code: 'duplicate_bucket_name', message: 'x' }).code).toBe(
      'BucketAlreadyExists',
    );
    expect(fromB2Error({ status: 401, code: 'unauthorized', message: 'x' }).status).toBe(403);
    const slow = fromB2Error({ status: 429, code: 'too_many_requests', message: 'x', retryAfter: 2 });
    expect([slow.code, slow.status, slow.headers['Retry-After']]).toEqual(['SlowDown', 503, '2']);
  });
});

describe('XML entity forms', () => {
  it('numeric character references in ETags (Go encoding/xml) decode', () => {
    const body = Buffer.from(
      '<CompleteMultipartUpload><Part><ETag>&#34;aa&#34;</ETag><PartNumber>1</PartNumber></Part><Part><ETag>&quot;bb&quot;</ETag><PartNumber>2</PartNumber></Part></CompleteMultipartUpload>',
    );
    expect(parseCompleteMultipartUpload(body).map((p) => p.etag)).toEqual(['aa', 'bb']);
  });
});
