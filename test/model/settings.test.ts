import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS, parseSettings } from '../../src/model/settings.js';
import type { Settings } from '../../src/model/settings.js';
import { configMap, show } from '../helpers/resources.js';
import { toleratedCases, validCases } from './settings-cases.js';

const parse = (data: Record<string, string>) => parseSettings(configMap(data));

describe('settings', () => {
  it('uses the defaults without a ConfigMap, and for an empty one', () => {
    assert.deepEqual(parseSettings(undefined), { settings: DEFAULT_SETTINGS, problems: [] });
    assert.deepEqual(parse({}), { settings: DEFAULT_SETTINGS, problems: [] });
  });

  it('does not let a parse change the defaults', () => {
    parse({ 'ssl-redirect': 'false' });
    assert.equal(DEFAULT_SETTINGS.sslRedirect, true);
    assert.ok(Object.isFrozen(DEFAULT_SETTINGS));
  });

  const valid: [string, string, keyof Settings, unknown][] = [
    ['ssl-redirect', 'false', 'sslRedirect', false],
    ['ssl-redirect', 'true', 'sslRedirect', true],
    ['http-redirect-code', '301', 'httpRedirectCode', 301],
    ['http-redirect-code', '307', 'httpRedirectCode', 307],
    ['preserve-trailing-slash', 'true', 'preserveTrailingSlash', true],
    ['use-port-in-redirects', 'true', 'usePortInRedirects', true],
    ['relative-redirects', 'true', 'relativeRedirects', true],
    ['use-forwarded-headers', 'true', 'useForwardedHeaders', true],
    ['worker-processes', 'auto', 'workerProcesses', 'auto'],
    ['worker-processes', '4', 'workerProcesses', 4],
    ['max-worker-connections', '1024', 'maxWorkerConnections', 1024],
    ['proxy-connect-timeout', '10', 'proxyConnectTimeout', 10],
    ['proxy-read-timeout', '3600', 'proxyReadTimeout', 3600],
    ['proxy-send-timeout', '1', 'proxySendTimeout', 1],
    ['proxy-body-size', '8M', 'proxyBodySize', '8m'],
    ['proxy-body-size', '0', 'proxyBodySize', '0'],
    ['proxy-body-size', '2g', 'proxyBodySize', '2g'],
    ['proxy-buffer-size', '16k', 'proxyBufferSize', '16k'],
    ['proxy-buffer-size', '8192', 'proxyBufferSize', '8192'],
    ['keep-alive', '0', 'keepAlive', 0],
    ['upstream-keepalive-connections', '0', 'upstreamKeepaliveConnections', 0],
    ['use-http2', 'false', 'useHttp2', false],
    ['server-tokens', 'true', 'serverTokens', true],
    ['disable-access-log', 'true', 'accessLog', false],
    ['disable-access-log', 'false', 'accessLog', true],
    ['server-name-hash-bucket-size', '128', 'serverNameHashBucketSize', 128],
    ['server-name-hash-max-size', '2048', 'serverNameHashMaxSize', 2048],
  ];
  validCases(valid);

  it('parses no-tls-redirect-locations: comma-separated path prefixes, ACME challenges by default', () => {
    assert.deepEqual(DEFAULT_SETTINGS.noTlsRedirectLocations, ['/.well-known/acme-challenge']);
    const { settings, problems } = parse({ 'no-tls-redirect-locations': ' /a, /b/c ,,' });
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(settings.noTlsRedirectLocations, ['/a', '/b/c']);
    assert.deepEqual(parse({ 'no-tls-redirect-locations': '' }).settings.noTlsRedirectLocations, []);
    for (const value of ['a', '/a, b', '/a b', '/\u00e9']) {
      const refused = parse({ 'no-tls-redirect-locations': value });
      assert.deepEqual(refused.settings.noTlsRedirectLocations, ['/.well-known/acme-challenge'], value);
      assert.equal(refused.problems.length, 1, value);
    }
  });

  const invalid: [string, string][] = [
    ['ssl-redirect', 'yes'],
    ['ssl-redirect', 'True'],
    ['ssl-redirect', '1'],
    ['ssl-redirect', ''],
    ['http-redirect-code', '303'],
    ['http-redirect-code', '200'],
    ['http-redirect-code', '0308'],
    ['use-forwarded-headers', 'yes'],
    ['relative-redirects', 'on'],
    ['worker-processes', '0'],
    ['worker-processes', '1025'],
    ['worker-processes', 'AUTO'],
    ['worker-processes', '2.5'],
    ['max-worker-connections', '15'],
    ['max-worker-connections', '1e5'],
    ['max-worker-connections', '-1'],
    ['proxy-connect-timeout', '0'],
    ['proxy-connect-timeout', '5s'],
    ['proxy-connect-timeout', '3601'],
    ['proxy-read-timeout', '86401'],
    ['proxy-send-timeout', 'sixty'],
    ['proxy-body-size', '1mb'],
    ['proxy-body-size', '1 m'],
    ['proxy-body-size', '-1'],
    ['proxy-body-size', '1m;'],
    ['proxy-body-size', '1t'],
    ['proxy-buffer-size', '0'],
    ['proxy-buffer-size', '0k'],
    ['proxy-buffer-size', '1g'],
    ['proxy-buffer-size', '4k; evil'],
    ['keep-alive', '86401'],
    ['keep-alive', '75s'],
    ['upstream-keepalive-connections', '100001'],
    ['use-http2', 'on'],
    ['server-tokens', 'off'],
    ['disable-access-log', 'no'],
    ['server-name-hash-bucket-size', '16'],
    ['server-name-hash-max-size', '63'],
    ['proxy-read-timeout', '9999999999'],
    ['keep-alive', '１'],
  ];
  // tolerated, as ingress-nginx ignored an invalid value: a warning, the default applies
  toleratedCases(invalid);

  it('tolerates whitespace around a value', () => {
    assert.equal(parse({ 'proxy-read-timeout': ' 30\n' }).settings.proxyReadTimeout, 30);
  });

  it('warns about unknown keys, naming them, and ignores them', () => {
    const { settings, problems } = parse({ 'enable-opentracing': 'true', 'proxy-read-timeout': '30' });
    assert.equal(settings.proxyReadTimeout, 30);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'warning');
    assert.equal(problems[0]!.field, 'data.enable-opentracing');
    assert.match(problems[0]!.message, /unknown or unsupported/);
  });

  it('does not treat inherited object properties as keys', () => {
    const { problems } = parse({ constructor: 'x', toString: 'y', ['__proto__']: 'z' });
    assert.deepEqual(
      problems.map((p) => [p.severity, p.field]),
      [
        ['warning', 'data.__proto__'],
        ['warning', 'data.constructor'],
        ['warning', 'data.toString'],
      ],
    );
  });

  it('reports every bad key, in key order, and applies the good ones', () => {
    const { settings, problems } = parse({
      'use-http2': 'nope',
      'keep-alive': '10',
      'worker-processes': 'many',
      zzz: '1',
    });
    assert.equal(settings.keepAlive, 10);
    assert.deepEqual(
      problems.map((p) => p.field),
      ['data.use-http2', 'data.worker-processes', 'data.zzz'],
    );
  });

  it('shortens a very long bad value in the message', () => {
    const { problems } = parse({ 'proxy-body-size': 'x'.repeat(1000) });
    assert.ok(problems[0]!.message.length < 300, problems[0]!.message);
  });

  // ---- forwarded headers and the client address (model/proxy-headers.ts), as ingress-nginx's config.go
  describe('forwarded headers and the client address', () => {
    it('defaults as ingress-nginx: nothing trusted, X-Forwarded-For read, every IPv4 peer believed once enabled', () => {
      assert.equal(DEFAULT_SETTINGS.computeFullForwardedFor, false);
      assert.equal(DEFAULT_SETTINGS.forwardedForHeader, 'X-Forwarded-For');
      assert.equal(DEFAULT_SETTINGS.enableRealIp, false);
      assert.deepEqual(DEFAULT_SETTINGS.proxyRealIpCidr, ['0.0.0.0/0']);
      assert.equal(DEFAULT_SETTINGS.useProxyProtocol, false);
    });

    const forwardedValid: [string, string, keyof Settings, unknown][] = [
      ['compute-full-forwarded-for', 'true', 'computeFullForwardedFor', true],
      ['forwarded-for-header', 'X-Client-IP', 'forwardedForHeader', 'X-Client-IP'],
      ['forwarded-for-header', ' CF-Connecting-IP ', 'forwardedForHeader', 'CF-Connecting-IP'],
      ['enable-real-ip', 'true', 'enableRealIp', true],
      ['use-proxy-protocol', 'true', 'useProxyProtocol', true],
    ];
    validCases(forwardedValid);

    const forwardedInvalid: [string, string][] = [
      ['compute-full-forwarded-for', 'yes'],
      ['enable-real-ip', 'on'],
      ['use-proxy-protocol', '1'],
      ['forwarded-for-header', ''],
      ['forwarded-for-header', 'X_Forwarded_For'], // nginx drops client headers with "_"
      ['forwarded-for-header', 'proxy_protocol'], // real_ip_header's keyword, not a header
      ['forwarded-for-header', 'X-Forwarded-For; evil'],
      ['forwarded-for-header', 'X Forwarded'],
    ];
    toleratedCases(forwardedInvalid);

    it('proxy-real-ip-cidr: IPv4 and IPv6 addresses and blocks, comma-separated, blanks ignored', () => {
      const { settings, problems } = parse({
        'proxy-real-ip-cidr': ' 10.0.0.0/8, 192.168.0.1/32,,203.0.113.7 , fd00::/8, ::1, 2001:db8::1/128, 0.0.0.0/0 ',
      });
      assert.deepEqual(problems, [], show(problems));
      assert.deepEqual(settings.proxyRealIpCidr, [
        '10.0.0.0/8',
        '192.168.0.1/32',
        '203.0.113.7',
        'fd00::/8',
        '::1',
        '2001:db8::1/128',
        '0.0.0.0/0',
      ]);
    });

    // the default trusts every IPv4 peer: a value meant to narrow that must not fall back to it
    for (const value of [
      '',
      ',',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/8, 10.0.0.256',
      '10.0.0.0/8;',
      '10.0.0.0/8 192.168.0.0/16',
      'localhost',
      '10.0.0.0/8, all',
      '::ffff:10.0.0.0/8x',
      '10.0.0.0/08a',
    ])
      it(`refuses proxy-real-ip-cidr ${JSON.stringify(value)}: no peer is trusted, not the default`, () => {
        const { settings, problems } = parse({ 'proxy-real-ip-cidr': value });
        assert.deepEqual(settings.proxyRealIpCidr, []);
        assert.deepEqual({ ...settings, proxyRealIpCidr: DEFAULT_SETTINGS.proxyRealIpCidr }, DEFAULT_SETTINGS);
        assert.equal(problems.length, 1, show(problems));
        assert.equal(problems[0]!.severity, 'error');
        assert.equal(problems[0]!.field, 'data.proxy-real-ip-cidr');
        assert.ok(problems[0]!.message.includes(JSON.stringify(value)), problems[0]!.message);
        assert.match(problems[0]!.message, /; no peer is trusted to give the client address$/);
      });
  });
});
