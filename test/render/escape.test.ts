import assert from 'node:assert/strict';
import {
  addr,
  comment,
  headerName,
  headerValue,
  HELPERS,
  hostLabel,
  num,
  path,
  responseHeader,
  responseValue,
  serverName,
  str,
  tok,
  UnsafeValueError,
} from '../../src/render/escape.js';

const refuses = (fn: (value: unknown) => string, values: unknown[]) => {
  for (const value of values)
    assert.throws(() => fn(value), UnsafeValueError, `${fn.name} accepted ${JSON.stringify(String(value))}`);
};

// Values that must never reach nginx.conf through any helper.
const ALWAYS_UNSAFE = ['a\nb', 'a\rb', 'a\u0000b', 'caf\u00e9', 'a\u2028b', '\u202e', 'a\tb', '\u007f', 'x\u00a0y'];

describe('escape helpers', () => {
  it('exports exactly the helpers the templates may use', () => {
    assert.deepEqual(Object.keys(HELPERS).sort(), [
      'addr',
      'cgiValue',
      'cidr',
      'comment',
      'fileIn',
      'headerName',
      'headerValue',
      'hostLabel',
      'logFormat',
      'mapPattern',
      'mimeType',
      'mirrorUrl',
      'num',
      'path',
      'regex',
      'responseHeader',
      'responseValue',
      'serverName',
      'str',
      'target',
      'tok',
      'userAgentRegex',
    ]);
  });

  describe('str', () => {
    it('quotes printable ASCII, where braces and ";" are harmless', () => {
      assert.equal(str('/var/run/nginx.pid'), '"/var/run/nginx.pid"');
      assert.equal(str('a {b}; c'), '"a {b}; c"');
      assert.equal(str(''), '""');
      assert.equal(str(42), '"42"');
    });

    it('refuses quotes, backslash, "$", control and non-ASCII characters', () => {
      refuses(str, ['say "hi"', 'a\\b', 'trailing\\', '$host', '${x}', ...ALWAYS_UNSAFE]);
    });

    it('refuses anything but strings and numbers, so a missing value cannot render as "undefined"', () => {
      refuses(str, [undefined, null, {}, ['a'], true, () => 'x']);
    });

    it('names the helper and the value in the error', () => {
      assert.throws(() => str('$x'), /refusing to render "\$x" with \{\{str\}\}/);
    });
  });

  describe('tok', () => {
    it('passes bare words: names, sizes, numbers, "auto", versions', () => {
      for (const word of [
        'auto',
        '4k',
        'default_web_80',
        '1.22.1',
        'Exact',
        'ImplementationSpecific',
        'www-data',
        'a:b/c+d@e',
      ])
        assert.equal(tok(word), word);
      assert.equal(tok(8), '8');
    });

    it('refuses whitespace, ";", braces, quotes, "$", "#", backslash, empty and non-strings', () => {
      refuses(tok, [
        '',
        'a b',
        'a;',
        'x;y',
        '{',
        '}',
        'a{b}',
        '"a"',
        "'a'",
        '$x',
        '#c',
        'a\\b',
        ...ALWAYS_UNSAFE,
        undefined,
        null,
        true,
        {},
        ['a'],
      ]);
    });
  });

  describe('headerName / headerValue', () => {
    it('headerName: bare header names, anything else refused', () => {
      assert.equal(headerName('X-Forwarded-For'), 'X-Forwarded-For');
      assert.equal(headerName('ssl-client-verify'), 'ssl-client-verify');
      for (const value of ['', 'a b', 'a;b', 'a"b', '$x', '-x', 'a{', 7, undefined])
        assert.throws(() => headerName(value), UnsafeValueError, String(value));
    });

    it('headerValue: literals quoted with the allowed variables only, the controller\'s own text bare, empty as ""', () => {
      assert.equal(headerValue({ value: 'payments', literal: true }), '"payments"');
      assert.equal(headerValue({ value: '$remote_addr', literal: false }), '$remote_addr');
      assert.equal(
        headerValue({ value: '$scheme://$http_host$request_uri', literal: false }),
        '$scheme://$http_host$request_uri',
      );
      assert.equal(headerValue({ value: '', literal: false }), '""');
      assert.equal(headerValue({ value: '', literal: true }), '""');
      // a literal keeps only the allowed variables (as responseValue)
      assert.equal(headerValue({ value: '$remote_addr', literal: true }), '"${ingress_templater_dollar}remote_addr"');
      assert.equal(headerValue({ value: 'a"b t=$msec', literal: true }), '"a\\"b t=${msec}"');
      for (const rule of [
        { value: 'a\nb', literal: true },
        { value: 'a b', literal: false },
        { value: 'x;', literal: false },
        { value: '${x}', literal: false },
        { value: 'x' },
        { value: 3, literal: true },
        null,
        'x',
      ]) {
        assert.throws(() => headerValue(rule), UnsafeValueError, JSON.stringify(rule));
      }
    });
  });

  describe('responseHeader / responseValue (add-headers, custom-headers)', () => {
    const dollar = '${ingress_templater_dollar}';
    it('the allowed variables stay variables, always written ${name}', () => {
      assert.equal(responseHeader('X-Request-Start', 't=${msec}'), '"X-Request-Start: t=${msec}"');
      assert.equal(responseHeader('X-Id', '$request_id'), '"X-Id: ${request_id}"');
      assert.equal(responseValue('$host at $time_iso8601'), '"${host} at ${time_iso8601}"');
      assert.equal(responseValue('$scheme/$time_local'), '"${scheme}/${time_local}"');
    });

    it('every other "$" is a literal dollar: no value reads another variable', () => {
      // ingress-nginx's own e2e case: "$remote_addr" reaches the client as written
      assert.equal(responseValue('$remote_addr'), `"${dollar}remote_addr"`);
      assert.equal(responseValue('${http_cookie}'), `"${dollar}{http_cookie}"`);
      // a longer name is another variable, not $msec followed by letters
      assert.equal(responseValue('$msecond'), `"${dollar}msecond"`);
      assert.equal(responseValue('$1 costs $'), `"${dollar}1 costs ${dollar}"`);
      assert.equal(responseValue('${msec'), `"${dollar}{msec"`);
      assert.equal(responseValue('$${msec}'), `"${dollar}\${msec}"`);
    });

    it('quotes and backslashes cannot end the string or become control characters', () => {
      assert.equal(responseValue('a "b" c'), '"a \\"b\\" c"');
      assert.equal(responseValue('x\\n; y'), '"x\\\\n; y"');
      assert.equal(responseValue('x\\'), '"x\\\\"');
      assert.equal(responseHeader('X', '"; return 200 "x'), '"X: \\"; return 200 \\"x"');
      assert.equal(responseValue('{ } ; #'), '"{ } ; #"');
    });

    it('refuses what no header may hold, and bad names', () => {
      refuses(responseValue, [...ALWAYS_UNSAFE, '', 'x'.repeat(4097), 3, null, undefined]);
      for (const name of ['', 'a b', 'a:b', 'a"b', '$x'])
        assert.throws(() => responseHeader(name, 'v'), UnsafeValueError, name);
    });
  });

  describe('num', () => {
    it('passes non-negative integers', () => {
      assert.equal(num(0), '0');
      assert.equal(num(65535), '65535');
    });

    it('refuses fractions, negatives, NaN, infinities and numeric strings', () => {
      refuses(num, [1.5, -1, NaN, Infinity, '80', '80;', null, undefined, true]);
    });
  });

  describe('path', () => {
    it('quotes Ingress paths, including the "/" suffix added for prefix locations', () => {
      assert.equal(path('/'), '"/"');
      assert.equal(path('/foo/'), '"/foo/"');
      assert.equal(path('/a-b_c.d~e/%20(x)*+,=:@!&'), '"/a-b_c.d~e/%20(x)*+,=:@!&"');
    });

    it('refuses relative paths and every character nginx would read specially', () => {
      refuses(path, [
        '',
        'foo',
        ' /',
        '/a b',
        '/a"b',
        "/a'b",
        '/a;b',
        '/a{b',
        '/a}b',
        '/$x',
        '/a#b',
        '/a\\b',
        '/a?b',
        '/a^b',
        '/a|b',
        '/a`b',
        ...ALWAYS_UNSAFE.map((v) => `/${v}`),
        undefined,
        null,
        1,
      ]);
    });

    it('refuses a path longer than the limit', () => {
      assert.doesNotThrow(() => path(`/${'a'.repeat(2047)}`));
      refuses(path, [`/${'a'.repeat(2048)}`]);
    });
  });

  describe('serverName', () => {
    it('passes an exact host and turns the catch-all into "_"', () => {
      assert.equal(serverName('cafe.example.com'), 'cafe.example.com');
      assert.equal(serverName(''), '_');
    });

    it('turns a wildcard into an anchored regex that matches exactly one label', () => {
      const rendered = serverName('*.example.com');
      assert.equal(rendered, '"~^[^.]+\\.example\\.com$"');
      const re = new RegExp(rendered.slice(2, -1));
      assert.ok(re.test('tea.example.com'));
      assert.ok(!re.test('a.b.example.com'));
      assert.ok(!re.test('example.com'));
      assert.ok(!re.test('.example.com'));
      assert.ok(!re.test('teaXexample.com'));
      assert.ok(!re.test('tea.example.com.evil.net'));
    });

    it('refuses anything that is not an Ingress host', () => {
      refuses(serverName, [
        '_',
        'Cafe.example.com',
        'a..b',
        'a.*.b',
        '*',
        '*.',
        '**.a',
        'a b',
        'a;b',
        '~^.*$',
        '10.0.0.1',
        '-a.com',
        ...ALWAYS_UNSAFE,
        undefined,
        null,
        1,
      ]);
    });
  });

  describe('hostLabel', () => {
    it('shows hosts as they are and the catch-all as "_"', () => {
      assert.equal(hostLabel('*.example.com'), '*.example.com');
      assert.equal(hostLabel(''), '_');
      refuses(hostLabel, ['a b', 'a\nb', '$x', undefined]);
    });
  });

  describe('addr', () => {
    it('formats address and port, IPv6 in brackets, "*" and "" as the port alone', () => {
      assert.equal(addr('10.0.0.1', 8080), '10.0.0.1:8080');
      assert.equal(addr('fd00::1', 80), '[fd00::1]:80');
      assert.equal(addr('*', 80), '80');
      assert.equal(addr('', 443), '443');
    });

    it('refuses host names, junk and bad ports', () => {
      assert.throws(() => addr('example.com', 80), UnsafeValueError);
      assert.throws(() => addr('10.0.0.1;', 80), UnsafeValueError);
      assert.throws(() => addr('10.0.0.1 backup', 80), UnsafeValueError);
      assert.throws(() => addr(null, 80), UnsafeValueError);
      assert.throws(() => addr('10.0.0.1', '80'), UnsafeValueError);
      assert.throws(() => addr('10.0.0.1', -1), UnsafeValueError);
    });
  });

  describe('comment', () => {
    it('passes one line of printable ASCII: a comment ends only at the line end', () => {
      assert.equal(comment('default/web'), 'default/web');
      assert.equal(comment('a {b}; "c" $d \\e'), 'a {b}; "c" $d \\e');
    });

    it('refuses line breaks, control characters and non-ASCII', () => {
      refuses(comment, [...ALWAYS_UNSAFE, 'x\n}\nserver {']);
    });
  });

  it('cgiValue: path characters and CGI variables, quoted; nothing else', () => {
    assert.equal(HELPERS.cgiValue('/var/www$fastcgi_script_name'), '"/var/www$fastcgi_script_name"');
    assert.equal(HELPERS.cgiValue('${document_root}/index.php'), '"${document_root}/index.php"');
    for (const value of ['$ingress_templater_host', 'a b', 'x";', 'a\nb', '${uri', 5, null]) {
      assert.throws(() => HELPERS.cgiValue(value as string), UnsafeValueError, JSON.stringify(value));
    }
  });
});
