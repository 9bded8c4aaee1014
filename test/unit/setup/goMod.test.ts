/**
 * Which `replace` lines of upstream pkg/go.mod the generated build module repeats: replacements by
 * other modules are kept verbatim (minus comments), local-path ones (`../sdk`) are dropped because
 * in our module those come from the proxy at the pinned tag.
 */
import { nonLocalReplaces } from '../../../tools/lib/pulumi-cli';

describe('nonLocalReplaces (upstream pkg/go.mod)', () => {
  it('keeps the module replacement and drops the ../sdk one, as in upstream pkg/go.mod', () => {
    const upstream = [
      'module github.com/pulumi/pulumi/pkg/v3',
      '',
      'go 1.26.6',
      '',
      'replace github.com/pulumi/pulumi/sdk/v3 => ../sdk',
      '',
      'replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e',
      '',
      'require (',
      '\tcloud.google.com/go/storage v1.64.0',
      '\tgithub.com/pulumi/pulumi/sdk/v3 v3.274.1',
      ')',
      '',
    ].join('\n');
    expect(nonLocalReplaces(upstream)).toEqual([
      'github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e',
    ]);
  });

  it('reads replace blocks, keeps versioned left sides, strips comments, drops ./ ../ and absolute paths', () => {
    const goMod = [
      'module example.com/m',
      '',
      'replace (',
      '\t// a whole-line comment is not a directive',
      '\texample.com/a v1.2.3 => example.com/a-fork v1.2.4 // pinned fork',
      '\texample.com/b => ./local/b',
      '\texample.com/c => ../c',
      '\texample.com/d => /abs/d',
      '\texample.com/e => example.com/e2 v0.1.0',
      ')',
      '',
      'replace example.com/f v0.0.1 => example.com/g v0.0.2',
      '',
    ].join('\n');
    expect(nonLocalReplaces(goMod)).toEqual([
      'example.com/a v1.2.3 => example.com/a-fork v1.2.4',
      'example.com/e => example.com/e2 v0.1.0',
      'example.com/f v0.0.1 => example.com/g v0.0.2',
    ]);
  });

  it('handles CRLF line endings', () => {
    const goMod = 'module m\r\n\r\nreplace (\r\n\tx.io/a => y.io/a v1.0.0\r\n)\r\nreplace x.io/b => ../b\r\n';
    expect(nonLocalReplaces(goMod)).toEqual(['x.io/a => y.io/a v1.0.0']);
  });

  it('ignores replace-like text outside directives and malformed lines', () => {
    const goMod = [
      'module m',
      '// replace x.io/commented => y.io/out v1.0.0',
      'require x.io/replace v1.0.0',
      'replace x.io/broken =>',
      'replace x.io/ok => y.io/ok v1.0.0',
      '',
    ].join('\n');
    expect(nonLocalReplaces(goMod)).toEqual(['x.io/ok => y.io/ok v1.0.0']);
  });

  it('returns nothing for a go.mod without replace directives', () => {
    expect(nonLocalReplaces('module m\n\ngo 1.26\n\nrequire x.io/a v1.0.0\n')).toEqual([]);
  });
});
