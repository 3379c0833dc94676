import assert from 'node:assert/strict';
import { DEFAULT_SETTINGS } from '../../src/model/settings.js';
import {
  build,
  CONFIG_MAP_OPTION,
  configMap,
  endpoints,
  ingress,
  path,
  rule,
  service,
  show,
} from '../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './annotations/nginx-check.js';
import { parseData, toleratedCases, validCases } from './settings-cases.js';

const ANNOTATION = 'nginx.ingress.kubernetes.io/';
// the catch-all server's block (its location "/" is written unquoted)
const catchAll = (text: string) => text.slice(text.indexOf('## start server _\n'), text.indexOf('## end server _\n'));

describe('settings: the ConfigMap defaults of annotations (settings-defaults.ts)', () => {
  it("has ingress-nginx's defaults: proxy buffering off, the rest as nginx's, no access log for the catch-all", () => {
    assert.equal(DEFAULT_SETTINGS.proxyBuffering, 'off', "ingress-nginx's default (nginx's is on)");
    assert.equal(DEFAULT_SETTINGS.proxyBuffersNumber, 4);
    assert.equal(DEFAULT_SETTINGS.proxyBusyBuffersSize, null);
    assert.equal(DEFAULT_SETTINGS.proxyCookieDomain, null);
    assert.equal(DEFAULT_SETTINGS.proxyCookiePath, null);
    assert.equal(DEFAULT_SETTINGS.proxyRedirectFrom, null);
    assert.equal(DEFAULT_SETTINGS.proxyRedirectTo, null);
    assert.equal(DEFAULT_SETTINGS.limitRate, 0);
    assert.equal(DEFAULT_SETTINGS.limitRateAfter, 0);
    assert.equal(DEFAULT_SETTINGS.retryNonIdempotent, false);
    assert.equal(DEFAULT_SETTINGS.proxyAddOriginalUriHeader, false);
    assert.equal(DEFAULT_SETTINGS.grpcBufferSizeKb, 0);
    assert.equal(DEFAULT_SETTINGS.forceSslRedirect, false);
    assert.deepEqual(DEFAULT_SETTINGS.customHttpErrors, []);
    assert.deepEqual(DEFAULT_SETTINGS.whitelistSourceRange, []);
    assert.deepEqual(DEFAULT_SETTINGS.denylistSourceRange, []);
    assert.equal(DEFAULT_SETTINGS.enableAccessLogForDefaultBackend, false);
  });

  validCases([
    ['proxy-buffering', 'off', 'proxyBuffering', 'off'],
    ['proxy-buffers-number', '8', 'proxyBuffersNumber', 8],
    ['proxy-busy-buffers-size', '8K', 'proxyBusyBuffersSize', '8k'],
    [
      'proxy-cookie-domain',
      'backend.internal example.com',
      'proxyCookieDomain',
      { from: 'backend.internal', to: 'example.com' },
    ],
    ['proxy-cookie-path', '/ /app/', 'proxyCookiePath', { from: '/', to: '/app/' }],
    ['proxy-cookie-path', 'off', 'proxyCookiePath', null],
    ['limit-rate', '100', 'limitRate', 100],
    ['limit-rate-after', '500', 'limitRateAfter', 500],
    ['retry-non-idempotent', 'true', 'retryNonIdempotent', true],
    ['proxy-add-original-uri-header', 'true', 'proxyAddOriginalUriHeader', true],
    ['grpc-buffer-size-kb', '8', 'grpcBufferSizeKb', 8],
    ['force-ssl-redirect', 'true', 'forceSslRedirect', true],
    ['custom-http-errors', '503, 404,404', 'customHttpErrors', [404, 503]],
    ['custom-http-errors', '', 'customHttpErrors', []],
    ['whitelist-source-range', '10.1.2.3/8, 192.0.2.1', 'whitelistSourceRange', ['10.0.0.0/8', '192.0.2.1/32']],
    ['denylist-source-range', 'fd00::1/8', 'denylistSourceRange', ['fd00::/8']],
    ['enable-access-log-for-default-backend', 'true', 'enableAccessLogForDefaultBackend', true],
  ]);

  toleratedCases([
    ['proxy-buffering', 'true'],
    ['proxy-buffers-number', '3'],
    ['proxy-busy-buffers-size', '0'],
    ['proxy-busy-buffers-size', '2k'], // below one buffer of 4k
    ['proxy-busy-buffers-size', '12k'], // not below three of the four buffers
    ['proxy-cookie-domain', 'a.example.com $host'],
    ['proxy-cookie-path', '/'],
    ['proxy-redirect-from', 'http://a.example.com/$1'],
    ['limit-rate', '10k'],
    ['limit-rate-after', '-1'],
    ['retry-non-idempotent', 'yes'],
    ['grpc-buffer-size-kb', '8k'],
    ['force-ssl-redirect', 'on'],
    ['custom-http-errors', '404,200'],
    ['enable-access-log-for-default-backend', '1'],
  ]);

  it('proxy-redirect-from without -to (or the reverse) is ignored with a warning', () => {
    for (const key of ['proxy-redirect-from', 'proxy-redirect-to']) {
      const { settings, problems } = parseData({ [key]: 'http://backend.internal/' });
      assert.deepEqual(settings, DEFAULT_SETTINGS);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'warning');
      assert.equal(problems[0]!.field, `data.${key}`);
    }
  });

  it('whitelist-source-range, denylist-source-range: an entry that cannot be read refuses every client', () => {
    for (const [key, field] of [
      ['whitelist-source-range', 'whitelistSourceRange'],
      ['denylist-source-range', 'denylistSourceRange'],
    ] as const) {
      const { settings, problems } = parseData({ [key]: '10.0.0.0/8, 10.0.0.300' });
      assert.equal(settings[field], false);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'error');
      assert.match(problems[0]!.message, /gets 403/);
    }
  });

  const resources = (data: Record<string, string>, annotations: Record<string, string> = {}) => [
    configMap(data),
    service({ name: 'app' }),
    endpoints({ name: 'app', subsets: [{ ready: ['10.0.0.1'] }] }),
    ingress({ name: 'web', annotations, rules: [rule('a.example.com', path('/', 'app'))] }),
    ingress({ name: 'other', rules: [rule('b.example.com', path('/', 'app'))] }),
  ];
  const model = (data: Record<string, string>, annotations?: Record<string, string>) =>
    build(resources(data, annotations), CONFIG_MAP_OPTION).model;

  it('without the keys: the http level as before but for proxy buffering (off), the catch-all unlogged', () => {
    const text = renderText(model({}));
    assert.match(text, /\n {4}proxy_buffers 4 4k;\n {4}proxy_redirect off;\n/);
    assert.match(text, /\n {4}proxy_next_upstream error timeout;\n/);
    assert.match(text, /\n {4}proxy_buffering off;\n/);
    assert.doesNotMatch(
      text,
      /proxy_busy_buffers_size|proxy_cookie_|limit_rate|grpc_buffer_size|X-Original-URI \$request_uri|proxy_intercept_errors/,
    );
    assert.match(catchAll(text), /\n {12}access_log off;\n/);
  });

  it('renders the keys at the http level, and nginx -t accepts it', async () => {
    const set = model({
      'proxy-buffering': 'off',
      'proxy-buffers-number': '8',
      'proxy-busy-buffers-size': '16k',
      'proxy-cookie-domain': 'backend.internal example.com',
      'proxy-cookie-path': '/ /app/',
      'proxy-redirect-from': 'http://backend.internal/',
      'proxy-redirect-to': '/',
      'limit-rate': '100',
      'limit-rate-after': '500',
      'retry-non-idempotent': 'true',
      'proxy-add-original-uri-header': 'true',
      'grpc-buffer-size-kb': '8',
      'enable-access-log-for-default-backend': 'true',
    });
    const text = renderText(set);
    for (const line of [
      'proxy_buffers 8 4k;',
      'proxy_redirect "http://backend.internal/" "/";',
      'proxy_buffering off;',
      'proxy_busy_buffers_size 16k;',
      'proxy_cookie_domain "backend.internal" "example.com";',
      'proxy_cookie_path "/" "/app/";',
      'limit_rate 100k;',
      'limit_rate_after 500k;',
      'grpc_buffer_size 8k;',
      'proxy_next_upstream error timeout non_idempotent;',
      'proxy_set_header X-Original-URI $request_uri;',
    ])
      assert.ok(text.includes(`\n    ${line}\n`), line);
    assert.doesNotMatch(catchAll(text), /access_log off/);
    await nginxAccepts(set);
  });

  it("an Ingress's annotations override the keys in its locations; its own buffers keep a busy size that fits", async () => {
    const annotated = model(
      { 'proxy-busy-buffers-size': '16k', 'retry-non-idempotent': 'true', 'proxy-buffers-number': '8' },
      {
        [`${ANNOTATION}proxy-buffer-size`]: '2k',
        [`${ANNOTATION}proxy-next-upstream`]: 'error http_502',
        [`${ANNOTATION}limit-rate`]: '0',
      },
    );
    const text = renderText(annotated);
    const location = locationBlock(text, 'a.example.com', '/');
    assert.match(location, /proxy_buffers 8 2k;/, "the ConfigMap's number with the Ingress's size");
    // 16k is not below seven buffers of 2k: nginx's own two buffers instead
    assert.match(location, /proxy_busy_buffers_size 4096;/);
    assert.match(location, /proxy_next_upstream error http_502 non_idempotent;/);
    assert.match(location, /limit_rate 0k;/);
    assert.doesNotMatch(locationBlock(text, 'b.example.com', '/'), /proxy_busy_buffers_size|proxy_buffers/);
    await nginxAccepts(annotated);
  });

  it('force-ssl-redirect: every Ingress without the annotation redirects plain HTTP, "false" opts out', () => {
    const text = renderText(model({ 'force-ssl-redirect': 'true' }, { [`${ANNOTATION}force-ssl-redirect`]: 'false' }));
    // b.example.com's every location redirects: a plain-HTTP server that only redirects
    assert.match(text, /server_name b\.example\.com;\n {8}return 308 https:/);
    assert.doesNotMatch(text, /server_name a\.example\.com;\n {8}return 308/);
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/'), /308/);
  });

  it('whitelist-source-range, denylist-source-range: each list unless the Ingress sets its own; unreadable: deny all', async () => {
    const lists = model(
      { 'whitelist-source-range': '10.0.0.0/8', 'denylist-source-range': '10.1.0.0/16' },
      { [`${ANNOTATION}whitelist-source-range`]: '192.0.2.0/24' },
    );
    const text = renderText(lists);
    const own = locationBlock(text, 'a.example.com', '/');
    assert.match(own, /deny 10\.1\.0\.0\/16;\n {12}allow 192\.0\.2\.0\/24;\n {12}deny all;/);
    assert.doesNotMatch(own, /allow 10\.0\.0\.0\/8/);
    assert.match(
      locationBlock(text, 'b.example.com', '/'),
      /deny 10\.1\.0\.0\/16;\n {12}allow 10\.0\.0\.0\/8;\n {12}deny all;/,
    );
    await nginxAccepts(lists);
    const refused = renderText(
      model({ 'denylist-source-range': 'nonsense' }, { [`${ANNOTATION}denylist-source-range`]: '10.1.0.0/16' }),
    );
    assert.match(locationBlock(refused, 'b.example.com', '/'), /deny all;/);
    assert.doesNotMatch(
      locationBlock(refused, 'a.example.com', '/'),
      /deny all;/,
      'its own list replaces the refused one',
    );
  });

  it('custom-http-errors: every Ingress without its own list intercepts the codes; the catch-all too', async () => {
    const errors = model({ 'custom-http-errors': '404,503' }, { [`${ANNOTATION}custom-http-errors`]: '500' });
    const text = renderText(errors);
    assert.match(
      locationBlock(text, 'b.example.com', '/'),
      /error_page 404 = @custom_default_other_404;\n {12}error_page 503 = @custom_default_other_503;/,
    );
    assert.match(locationBlock(text, 'a.example.com', '/'), /error_page 500 = @custom_default_web_500;/);
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/'), /error_page 404/);
    assert.match(
      catchAll(text),
      /proxy_intercept_errors on;\n {12}error_page 404 = @custom_upstream_default_backend_404;/,
    );
    // no --default-backend-service: the pages answer 404, as ingress-nginx's built-in default backend
    assert.match(text, /location @custom_upstream_default_backend_404 \{\n {12}return 404;/);
    await nginxAccepts(errors);
  });

  it('parses with no problem when every key is valid', () => {
    const { problems } = parseData({ 'custom-http-errors': '404', 'whitelist-source-range': '10.0.0.0/8' });
    assert.deepEqual(problems, [], show(problems));
  });
});
