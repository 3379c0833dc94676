import assert from 'node:assert/strict';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import {
  PROXY_BODY_SIZE,
  PROXY_BUFFER_SIZE,
  PROXY_BUFFERING,
  PROXY_BUFFERS_NUMBER,
  PROXY_CONNECT_TIMEOUT,
  PROXY_KEYS,
  PROXY_NEXT_UPSTREAM,
  PROXY_NEXT_UPSTREAM_TIMEOUT,
  PROXY_NEXT_UPSTREAM_TRIES,
  PROXY_READ_TIMEOUT,
  PROXY_SEND_TIMEOUT,
  PROXY_BUSY_BUFFERS_SIZE,
  PROXY_MAX_TEMP_FILE_SIZE,
  PROXY_REQUEST_BUFFERING,
  PROXY_HTTP_VERSION,
  CLIENT_BODY_BUFFER_SIZE,
  PROXY_COOKIE_DOMAIN,
  PROXY_COOKIE_PATH,
  PROXY_REDIRECT_FROM,
  PROXY_REDIRECT_TO,
  LIMIT_RATE,
  LIMIT_RATE_AFTER,
  ENABLE_ACCESS_LOG,
  ENABLE_REWRITE_LOG,
  parseProxy,
} from '../../../src/model/annotations/proxy.js';
import { DEFAULT_SETTINGS } from '../../../src/model/settings.js';
import type { Problem } from '../../../src/resources.js';
import {
  assertAnnotationError,
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  ingress,
  path,
  rule,
  service,
  show,
} from '../../helpers/resources.js';
import { locationBlock, NGINX, nginxAccepts, renderText } from './nginx-check.js';
import fs from 'node:fs';

const ctx: AnnotationContext = {
  settings: { ...DEFAULT_SETTINGS },
  secret: () => undefined,
  configMap: () => undefined,
  file: (n) => n,
};
const ing = (annotations: Record<string, string>) =>
  ingress({ name: 'web', namespace: 'shop', annotations, rules: [rule('a.example.com', path('/', 'web'))] });

const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  const config = parseProxy(ing(annotations), ctx, problems);
  return { config, problems };
};

const backend = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const model = (annotations: Record<string, string>, extra = [configMap({})]) =>
  build(
    [...backend, ...extra, ingress({ name: 'web', annotations, rules: [rule('a.example.com', path('/app', 'web'))] })],
    CONFIG_MAP_OPTION,
  );

describe('model/annotations/proxy', () => {
  it('every key is a supported annotation', () => {
    for (const key of PROXY_KEYS) assert.ok(SUPPORTED.has(key), key);
    assert.equal(PROXY_KEYS.length, 23);
  });

  it('sets nothing without its annotations (the http-level defaults apply)', () => {
    assert.deepEqual(parse({}), { config: undefined, problems: [] });
  });

  it('reads sizes, integer seconds, next-upstream conditions and buffering', () => {
    const { config, problems } = parse({
      [PROXY_BODY_SIZE]: '8M',
      [PROXY_CONNECT_TIMEOUT]: '15',
      [PROXY_READ_TIMEOUT]: ' 120 ',
      [PROXY_SEND_TIMEOUT]: '30',
      [PROXY_NEXT_UPSTREAM]: 'error timeout http_502 error',
      [PROXY_NEXT_UPSTREAM_TRIES]: '0',
      [PROXY_NEXT_UPSTREAM_TIMEOUT]: '10',
      [PROXY_BUFFERING]: 'on',
      [PROXY_BUFFER_SIZE]: '16k',
    });
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(config, {
      bodySize: '8m',
      connectTimeout: 15,
      readTimeout: 120,
      sendTimeout: 30,
      nextUpstream: ['error', 'timeout', 'http_502'],
      nextUpstreamTries: 0,
      nextUpstreamTimeout: 10,
      buffering: 'on',
      buffers: { number: 4, size: '16k' },
      busyBuffersSize: null,
      maxTempFileSize: null,
      requestBuffering: null,
      httpVersion: null,
      clientBodyBufferSize: null,
      cookieDomain: null,
      cookiePath: null,
      redirect: null,
      limitRate: null,
      limitRateAfter: null,
      accessLogOff: null,
      rewriteLog: null,
    });
  });

  it('limit-rate without proxy-buffering on (the default is off) is applied, with a warning that nginx ignores it', () => {
    const { config, problems } = parse({ [LIMIT_RATE]: '100' });
    assert.equal(config?.limitRate, 100);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'warning');
    assert.match(problems[0]!.message, /no effect while proxy-buffering is off/);
    assert.deepEqual(parse({ [LIMIT_RATE]: '0' }).problems, [], 'no limit, nothing to say');
  });

  it("reads ingress-nginx's other proxy annotations: buffering sizes, HTTP version, cookies, redirects, rates, logs", () => {
    const { config, problems } = parse({
      [PROXY_BUSY_BUFFERS_SIZE]: '8k',
      [PROXY_MAX_TEMP_FILE_SIZE]: '1024m',
      [PROXY_REQUEST_BUFFERING]: 'off',
      [PROXY_HTTP_VERSION]: '1.0',
      [CLIENT_BODY_BUFFER_SIZE]: '1M',
      [PROXY_COOKIE_DOMAIN]: 'internal.svc example.com',
      [PROXY_COOKIE_PATH]: 'off',
      [PROXY_REDIRECT_FROM]: 'http://internal.svc/',
      [PROXY_REDIRECT_TO]: 'https://example.com/app/',
      [LIMIT_RATE]: '100',
      [LIMIT_RATE_AFTER]: '0',
      [PROXY_BUFFERING]: 'on',
      [ENABLE_ACCESS_LOG]: 'false',
      [ENABLE_REWRITE_LOG]: 'true',
    });
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(
      {
        busy: config?.busyBuffersSize,
        temp: config?.maxTempFileSize,
        request: config?.requestBuffering,
        version: config?.httpVersion,
        body: config?.clientBodyBufferSize,
        domain: config?.cookieDomain,
        path: config?.cookiePath,
        redirect: config?.redirect,
        rate: [config?.limitRate, config?.limitRateAfter],
        logs: [config?.accessLogOff, config?.rewriteLog],
      },
      {
        busy: '8k',
        temp: '1024m',
        request: 'off',
        version: '1.0',
        body: '1m',
        domain: { from: 'internal.svc', to: 'example.com' },
        path: { keyword: 'off' },
        redirect: { from: 'http://internal.svc/', to: 'https://example.com/app/' },
        rate: [100, 0],
        logs: [true, true],
      },
    );
    const unsupported = parse({ [PROXY_REDIRECT_FROM]: 'default' });
    assert.equal(unsupported.config, undefined);
    assert.equal(unsupported.problems[0]?.severity, 'warning');
  });

  it('proxy-body-size 0 (no limit) and the buffers number alone (with the ConfigMap buffer size)', () => {
    assert.equal(parse({ [PROXY_BODY_SIZE]: '0' }).config?.bodySize, '0');
    assert.deepEqual(parse({ [PROXY_BUFFERS_NUMBER]: '8' }).config?.buffers, { number: 8, size: '4k' });
    assert.deepEqual(parse({ [PROXY_NEXT_UPSTREAM]: 'off' }).config?.nextUpstream, ['off']);
  });

  const invalid: [string, string][] = [
    [PROXY_BODY_SIZE, '1 m'],
    [PROXY_BODY_SIZE, '1mb'],
    [PROXY_BODY_SIZE, '-1'],
    [PROXY_BODY_SIZE, '1m;'],
    [PROXY_BODY_SIZE, ''],
    [PROXY_BODY_SIZE, '1.5m'],
    [PROXY_CONNECT_TIMEOUT, '0'],
    [PROXY_CONNECT_TIMEOUT, '30s'],
    [PROXY_CONNECT_TIMEOUT, '-5'],
    [PROXY_CONNECT_TIMEOUT, '3601'],
    [PROXY_CONNECT_TIMEOUT, '1e3'],
    [PROXY_READ_TIMEOUT, '86401'],
    [PROXY_READ_TIMEOUT, 'sixty'],
    [PROXY_SEND_TIMEOUT, '1.5'],
    [PROXY_NEXT_UPSTREAM, 'error foo'],
    [PROXY_NEXT_UPSTREAM, 'off error'],
    [PROXY_NEXT_UPSTREAM, ''],
    [PROXY_NEXT_UPSTREAM, 'error;timeout'],
    [PROXY_NEXT_UPSTREAM, 'http_501'],
    [PROXY_NEXT_UPSTREAM_TRIES, '-1'],
    [PROXY_NEXT_UPSTREAM_TRIES, '1e3'],
    [PROXY_NEXT_UPSTREAM_TIMEOUT, '5s'],
    [PROXY_BUFFERING, 'true'],
    [PROXY_BUFFERING, 'yes'],
    [PROXY_BUFFER_SIZE, '1g'],
    [PROXY_BUFFER_SIZE, '0'],
    [PROXY_BUFFER_SIZE, '17m'],
    [PROXY_BUFFER_SIZE, '8 k'],
    [PROXY_BUFFERS_NUMBER, '2'],
    [PROXY_BUFFERS_NUMBER, '3'],
    [PROXY_BUFFERS_NUMBER, 'four'],
    // nginx -t would refuse these with the default buffers (4 of 4k): busy below 3 of them, at least one
    [PROXY_BUSY_BUFFERS_SIZE, '12k'],
    [PROXY_BUSY_BUFFERS_SIZE, '2k'],
    [PROXY_MAX_TEMP_FILE_SIZE, '1k'],
    [PROXY_REQUEST_BUFFERING, 'true'],
    [PROXY_HTTP_VERSION, '2'],
    [CLIENT_BODY_BUFFER_SIZE, '0'],
    [PROXY_COOKIE_DOMAIN, 'a'],
    [PROXY_COOKIE_DOMAIN, 'a b c'],
    [PROXY_COOKIE_PATH, '/a $host'],
    [PROXY_REDIRECT_FROM, 'http://x/ $host'],
    [PROXY_REDIRECT_TO, '/x'],
    [LIMIT_RATE, '10k'],
    [ENABLE_ACCESS_LOG, 'no'],
  ];
  for (const [key, value] of invalid) {
    it(`refuses ${key.split('/')[1]}: ${JSON.stringify(value)} with an error naming the Ingress, the annotation and the value`, () => {
      const { config, problems } = parse({ [key]: value });
      assert.equal(config, undefined);
      assertAnnotationError(problems, 'Ingress shop/web', key, value);
    });
  }

  it('an invalid value is ignored with a warning, as ingress-nginx (its default applies); the valid ones are rendered', () => {
    // ingress-nginx's own e2e values: a size it cannot read, a timeout in another unit, a large retry count
    const { model: built, problems } = model({
      [PROXY_BODY_SIZE]: '15r',
      [PROXY_CONNECT_TIMEOUT]: '50k',
      [PROXY_READ_TIMEOUT]: '5',
      [PROXY_NEXT_UPSTREAM_TRIES]: '888888',
    });
    assert.deepEqual(
      problems.map((p) => `${p.severity} ${p.field}`),
      [
        `warning metadata.annotations["${PROXY_BODY_SIZE}"]`,
        `warning metadata.annotations["${PROXY_CONNECT_TIMEOUT}"]`,
      ],
      show(problems),
    );
    const loc = built.servers.find((s) => s.host === 'a.example.com')!.locations[0]!;
    assert.equal(loc.denied, null);
    const block = locationBlock(renderText(built), 'a.example.com', '/app/');
    assert.match(block, /proxy_read_timeout 5s;/);
    assert.match(block, /proxy_next_upstream_tries 888888;/);
    assert.match(block, /proxy_pass/);
    assert.doesNotMatch(block, /client_max_body_size|proxy_connect_timeout|return 503/);
  });

  it('renders only what is set, inside each location of the Ingress', () => {
    const { model: built, problems } = model({
      [PROXY_BODY_SIZE]: '2k',
      [PROXY_CONNECT_TIMEOUT]: '3',
      [PROXY_READ_TIMEOUT]: '1',
      [PROXY_SEND_TIMEOUT]: '7',
      [PROXY_NEXT_UPSTREAM]: 'error timeout http_503',
      [PROXY_NEXT_UPSTREAM_TRIES]: '2',
      [PROXY_NEXT_UPSTREAM_TIMEOUT]: '0',
      [PROXY_BUFFERING]: 'off',
      [PROXY_BUFFER_SIZE]: '8k',
      [PROXY_BUFFERS_NUMBER]: '6',
      [PROXY_BUSY_BUFFERS_SIZE]: '16k',
      [PROXY_REQUEST_BUFFERING]: 'off',
      [PROXY_COOKIE_PATH]: '/ /app/',
      [PROXY_REDIRECT_FROM]: 'http://internal/',
      [PROXY_REDIRECT_TO]: '/app/',
      [LIMIT_RATE]: '512',
      [ENABLE_ACCESS_LOG]: 'false',
    });
    // rendered all the same; nginx ignores the rate beside buffering off, which the one warning says
    assert.deepEqual(
      problems.map((problem) => [problem.severity, problem.field]),
      [['warning', `metadata.annotations["${LIMIT_RATE}"]`]],
      show(problems),
    );
    const text = renderText(built);
    for (const [pattern, exact] of [
      ['/app', true],
      ['/app/', false],
    ] as const) {
      const block = locationBlock(text, 'a.example.com', pattern, exact);
      for (const line of [
        'client_max_body_size 2k;',
        'proxy_connect_timeout 3s;',
        'proxy_read_timeout 1s;',
        'proxy_send_timeout 7s;',
        'proxy_next_upstream error timeout http_503;',
        'proxy_next_upstream_tries 2;',
        'proxy_next_upstream_timeout 0s;',
        'proxy_buffering off;',
        'proxy_buffer_size 8k;',
        'proxy_buffers 6 8k;',
        'proxy_busy_buffers_size 16k;',
        'proxy_request_buffering off;',
        'proxy_cookie_path "/" "/app/";',
        'proxy_redirect "http://internal/" "/app/";',
        'limit_rate 512k;',
        'access_log off;',
      ])
        assert.ok(block.includes(`            ${line}\n`), `${line} missing in\n${block}`);
    }
    // another Ingress's locations keep the http-level values
    const plain = model({}).model;
    assert.doesNotMatch(
      locationBlock(renderText(plain), 'a.example.com', '/app/'),
      /client_max_body_size|proxy_read_timeout/,
    );
  });

  it('nginx -t accepts every directive it renders, in both balancer modes', async function () {
    if (!fs.existsSync(NGINX)) this.skip();
    this.timeout(30_000);
    const { model: built } = model(
      {
        [PROXY_BODY_SIZE]: '100g',
        [PROXY_CONNECT_TIMEOUT]: '3600',
        [PROXY_READ_TIMEOUT]: '86400',
        [PROXY_SEND_TIMEOUT]: '1',
        [PROXY_NEXT_UPSTREAM]:
          'error timeout invalid_header http_500 http_502 http_503 http_504 http_403 http_404 http_429 non_idempotent',
        [PROXY_NEXT_UPSTREAM_TRIES]: '1000',
        [PROXY_NEXT_UPSTREAM_TIMEOUT]: '86400',
        [PROXY_BUFFERING]: 'on',
        [PROXY_BUFFER_SIZE]: '16m',
        [PROXY_BUFFERS_NUMBER]: '4',
        [PROXY_BUSY_BUFFERS_SIZE]: '32m',
        [PROXY_MAX_TEMP_FILE_SIZE]: '0',
        [PROXY_REQUEST_BUFFERING]: 'on',
        [PROXY_HTTP_VERSION]: '1.1',
        [CLIENT_BODY_BUFFER_SIZE]: '128k',
        [PROXY_COOKIE_DOMAIN]: 'internal.svc example.com',
        [PROXY_COOKIE_PATH]: '/ /app/',
        [PROXY_REDIRECT_FROM]: 'off',
        [LIMIT_RATE]: '1024',
        [LIMIT_RATE_AFTER]: '10240',
        [ENABLE_ACCESS_LOG]: 'false',
        [ENABLE_REWRITE_LOG]: 'true',
      },
      [configMap({ 'proxy-buffer-size': '64k' })],
    );
    await nginxAccepts(built);
    // a larger ConfigMap buffer size with the annotation's buffer number only
    await nginxAccepts(
      model({ [PROXY_BUFFERS_NUMBER]: '4', [PROXY_NEXT_UPSTREAM]: 'off' }, [configMap({ 'proxy-buffer-size': '1m' })])
        .model,
    );
  });
});
