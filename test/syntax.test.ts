import assert from 'node:assert/strict';
import {
  DATA_KEY,
  DNS_LABEL,
  DNS_SUBDOMAIN,
  isHttpPath,
  isIngressHost,
  isIngressPath,
  isIP,
  isPort,
  isQualifiedName,
  isRegexPath,
  MAX_PATH_LENGTH,
  PORT_NAME,
} from '../src/syntax.js';

/** Each value accepted by check, each of the others refused; the message names the one that was not. */
function table(check: (value: string) => boolean, accepted: string[], refused: string[]): void {
  for (const value of accepted) assert.equal(check(value), true, `should accept ${JSON.stringify(value)}`);
  for (const value of refused) assert.equal(check(value), false, `should refuse ${JSON.stringify(value)}`);
}

const test = (pattern: RegExp) => (value: string) => pattern.test(value);

describe('syntax', () => {
  it('DNS labels: lower case alphanumerics and "-", alphanumeric at both ends, at most 63', () => {
    table(
      test(DNS_LABEL),
      ['a', 'web', 'web-v2', '0', `a${'b'.repeat(61)}c`],
      ['', '-web', 'web-', 'Web', 'web.shop', 'we_b', `a${'b'.repeat(62)}c`, 'web\n'],
    );
    // port names share the shape
    table(test(PORT_NAME), ['http', 'grpc-web'], ['HTTP', '-http', 'http_2']);
  });

  it('DNS subdomains: dot-separated labels, at most 253 characters', () => {
    const label63 = 'a'.repeat(63);
    table(
      test(DNS_SUBDOMAIN),
      ['a', 'tea-svc.shop', 'a.b.c', [label63, label63, label63, 'a'.repeat(61)].join('.')],
      [
        '',
        '.a',
        'a.',
        'a..b',
        'A.b',
        '*.b',
        [label63, label63, label63, 'a'.repeat(62)].join('.'),
        `${'a'.repeat(64)}.b`,
      ],
    );
  });

  it('Ingress hosts: a subdomain, "*." as a whole first label only, never an IP address', () => {
    table(
      isIngressHost,
      ['cafe.example.com', 'localhost', '*.example.com', 'xn--bcher-kva.example'],
      [
        '',
        '*',
        '*example.com',
        'a.*.example.com',
        '**.example.com',
        'Cafe.example.com',
        'cafe.example.com.',
        'cafe.example.com:80',
        '127.0.0.1',
        '*.127.0.0.1',
        'a b.example.com',
        'cafe.example.com;',
      ],
    );
  });

  it('HTTP paths: absolute, RFC 3986 path characters, nothing nginx reads specially, at most 2048', () => {
    table(
      isHttpPath,
      ['/', '/tea', '/tea/', '/a-b._~!&()*+,=:@%2F/c', `/${'a'.repeat(MAX_PATH_LENGTH - 1)}`],
      [
        '',
        'tea',
        '/a b',
        '/a;b',
        '/a{b}',
        '/$host',
        '/a#b',
        '/a"b',
        "/a'b",
        '/a\\b',
        '/a\nb',
        '/a?b',
        `/${'a'.repeat(MAX_PATH_LENGTH)}`,
      ],
    );
  });

  it('regex paths: "$" only as an anchor, a backslash only before a metacharacter or class, no empty class', () => {
    table(
      isRegexPath,
      [
        '/api/(v1|v2)/.*',
        '/item/[0-9]+$',
        '/(a|b)$|/c',
        '/a\\.b',
        '/a\\d+\\w\\s\\b\\D\\W\\S\\B',
        '/a\\/b',
        '/a\\-b',
        '/a\\\\b',
        '/a\\$',
        '/[^/]+',
        // repetitions, as PCRE and ingress-nginx took them
        '/api/v[0-9]{3}',
        '/[a-z]{3}',
        '/a{1,3}/b{2,}',
        '/(ab){2}',
        '/x\\{y\\}',
      ],
      [
        '/a$b',
        '/$1',
        '/a\\q',
        '/a\\n',
        '/[]',
        '/a[^]',
        '/a b',
        '/a{',
        '/a}',
        '/a{,3}',
        '/a{x}',
        '/({2})',
        '/a*{2}',
        '/a|{2}',
        '/a{99999}',
        '/${x}',
        '/a;b',
        "/a'b",
        '/a#b',
        'a.*',
        `/${'a'.repeat(MAX_PATH_LENGTH)}`,
      ],
    );
  });

  it('an Ingress path is a plain HTTP path or a regex path', () => {
    table(isIngressPath, ['/tea', '/tea/.*', '/(a|b)$'], ['tea', '/a b', '/a$b', '/a{']);
  });

  it('ports: integers 1-65535', () => {
    for (const port of [1, 80, 65535]) assert.equal(isPort(port), true, String(port));
    for (const port of [0, -1, 65536, 80.5, Number.NaN, '80', null, undefined])
      assert.equal(isPort(port), false, String(port));
  });

  it('IP addresses: IPv4 and IPv6 literals, nothing else', () => {
    table(
      isIP,
      ['127.0.0.1', '10.0.0.255', '::1', 'fe80::1', '2001:db8::8'],
      ['', 'localhost', '256.0.0.1', '1.2.3', '[::1]', '127.0.0.1:80'],
    );
  });

  it('qualified names: an optional DNS subdomain prefix and "/", then a name of 1-63 characters', () => {
    table(
      isQualifiedName,
      [
        'app',
        'app.kubernetes.io/name',
        'nginx.ingress.kubernetes.io/rewrite-target',
        'a_b.c-D',
        'kubernetes.io/ingress.class',
      ],
      ['', '/name', 'prefix/', 'Prefix.io/name', 'a/b/c', '-app', 'app-', `${'a'.repeat(64)}`, 'a b'],
    );
  });

  it('data keys: letters, digits, "-", "_" and ".", at most 253', () => {
    table(
      test(DATA_KEY),
      ['tls.crt', 'auth', '.dotfile', 'A_b-c.1', 'a'.repeat(253)],
      ['', 'a/b', 'a b', 'a:b', 'a'.repeat(254)],
    );
  });
});
