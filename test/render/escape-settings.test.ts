import assert from 'node:assert/strict';
import { UnsafeValueError } from '../../src/errors.js';
import { cidr, logFormat, mapPattern, mimeType, userAgentRegex } from '../../src/render/escape-settings.js';

describe('render/escape-settings (the helpers of the ConfigMap keys of issue 13)', () => {
  it('cidr: an address or network as parsed, bare; anything else throws', () => {
    assert.equal(cidr('10.0.0.0/8'), '10.0.0.0/8');
    assert.equal(cidr('::1'), '::1');
    for (const bad of ['10.0.0.0/08', '10.0.0.0/8; allow all', 'default', 8])
      assert.throws(() => cidr(bad), UnsafeValueError, String(bad));
  });

  it("mapPattern: quoted with quotes and backslashes escaped, map's own parameters made values", () => {
    assert.equal(mapPattern('AlphaBot'), '"AlphaBot"');
    assert.equal(mapPattern('~*example\\.com'), '"~*example\\\\.com"');
    assert.equal(mapPattern('say "hi"'), '"say \\"hi\\""');
    assert.equal(mapPattern('default'), '"\\\\default"');
    assert.equal(mapPattern('hostnames'), '"\\\\hostnames"');
    for (const bad of ['line\nbreak', '~*(', ''])
      assert.throws(() => mapPattern(bad), UnsafeValueError, JSON.stringify(bad));
  });

  it('userAgentRegex: quoted, escaped; a regex that does not compile throws', () => {
    assert.equal(userAgentRegex('msie6'), '"msie6"');
    assert.equal(userAgentRegex('a"b\\d$'), '"a\\"b\\\\d$"');
    assert.throws(() => userAgentRegex('('), UnsafeValueError);
  });

  it('mimeType: type/subtype or "*"', () => {
    assert.equal(mimeType('application/vnd.api+json'), 'application/vnd.api+json');
    assert.equal(mimeType('*'), '*');
    for (const bad of ['text/*;', 'text', 'text/html;gzip off', '$x/y'])
      assert.throws(() => mimeType(bad), UnsafeValueError, bad);
  });

  it('logFormat: every "$" begins a variable; quotes and backslashes cannot end the string', () => {
    assert.equal(logFormat('$status "${msec}" \\'), '"$status \\"${msec}\\" \\\\"');
    for (const bad of ['5$', '${x', '$ x', 'a\nb', 'é'])
      assert.throws(() => logFormat(bad), UnsafeValueError, JSON.stringify(bad));
  });
});
