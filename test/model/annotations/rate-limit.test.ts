import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import {
  LIMIT_BURST_MULTIPLIER,
  LIMIT_CONNECTIONS,
  LIMIT_RPM,
  LIMIT_RPS,
  parseRateLimit,
  RATE_LIMIT_KEYS,
  rateLimitZones,
} from '../../../src/model/annotations/rate-limit.js';
import { DEFAULT_SETTINGS, parseSettings } from '../../../src/model/settings.js';
import type { Problem } from '../../../src/resources.js';
import {
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

const ctx: AnnotationContext = {
  settings: { ...DEFAULT_SETTINGS },
  secret: () => undefined,
  configMap: () => undefined,
  file: (n) => n,
};
const ing = (annotations: Record<string, string>, name = 'web') =>
  ingress({ name, namespace: 'shop', annotations, rules: [rule('a.example.com', path('/', 'web'))] });
const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  return { config: parseRateLimit(ing(annotations), ctx, problems), problems };
};
const backend = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('model/annotations/rate-limit', () => {
  it('its keys are supported annotations', () => {
    for (const k of RATE_LIMIT_KEYS) assert.ok(SUPPORTED.has(k), k);
  });

  it('nothing without a limit (0 is no limit; a multiplier alone does nothing)', () => {
    assert.deepEqual(parse({}), { config: undefined, problems: [] });
    assert.deepEqual(parse({ [LIMIT_RPS]: '0', [LIMIT_BURST_MULTIPLIER]: '3' }), { config: undefined, problems: [] });
    assert.deepEqual(rateLimitZones(ing({})), []);
  });

  it('burst is the limit times the multiplier (default 5); zones are named after the Ingress', () => {
    const { config, problems } = parse({ [LIMIT_RPS]: '10', [LIMIT_RPM]: '300', [LIMIT_CONNECTIONS]: '4' });
    assert.deepEqual(problems, []);
    assert.deepEqual(config, {
      conn: { zone: 'shop/web/conn', limit: 4 },
      rpm: { zone: 'shop/web/rpm', burst: 1500 },
      rps: { zone: 'shop/web/rps', burst: 50 },
      reqStatus: 503,
      connStatus: 503,
    });
    assert.equal(parse({ [LIMIT_RPS]: '2', [LIMIT_BURST_MULTIPLIER]: '1' }).config?.rps?.burst, 2);
    assert.deepEqual(rateLimitZones(ing({ [LIMIT_RPS]: '10', [LIMIT_RPM]: '300', [LIMIT_CONNECTIONS]: '4' })), [
      { zone: 'shop/web/conn', rate: null, size: '5m' },
      { zone: 'shop/web/rpm', rate: '300r/m', size: '5m' },
      { zone: 'shop/web/rps', rate: '10r/s', size: '5m' },
    ]);
  });

  it('the status codes come from the ConfigMap (limit-req-status-code, limit-conn-status-code)', () => {
    const { settings, problems } = parseSettings(
      configMap({ 'limit-req-status-code': '429', 'limit-conn-status-code': '429' }),
    );
    assert.deepEqual(problems, []);
    const reported: Problem[] = [];
    const config = parseRateLimit(ing({ [LIMIT_RPS]: '1' }), { ...ctx, settings }, reported);
    assert.equal(config?.reqStatus, 429);
    assert.equal(config?.connStatus, 429);
    for (const value of ['200', '600', 'x', '503;'])
      assert.equal(parseSettings(configMap({ 'limit-req-status-code': value })).problems.length, 1, value);
  });

  for (const [key, value] of [
    [LIMIT_RPS, '-1'],
    [LIMIT_RPS, '1.5'],
    [LIMIT_RPS, 'ten'],
    [LIMIT_RPS, '100001'],
    [LIMIT_RPS, '10r/s'],
    [LIMIT_RPM, '-60'],
    [LIMIT_CONNECTIONS, '-1'],
    [LIMIT_CONNECTIONS, '5;'],
    [LIMIT_BURST_MULTIPLIER, '0'],
    [LIMIT_BURST_MULTIPLIER, '1001'],
    [LIMIT_BURST_MULTIPLIER, '2.5'],
  ] as const) {
    it(`refuses ${key.split('/')[1]}: ${JSON.stringify(value)} naming the Ingress, the annotation and the value`, () => {
      const { problems } = parse({ [LIMIT_RPS]: '5', [key]: value });
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'error');
      assert.equal(problems[0]!.object, 'Ingress shop/web');
      assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
      assert.ok(problems[0]!.message.includes(JSON.stringify(value)), problems[0]!.message);
    });
  }

  it('an invalid limit is ignored with one warning (not again for the zones), as ingress-nginx; the paths serve', () => {
    const { model, problems } = build([
      ...backend,
      ingress({ name: 'web', annotations: { [LIMIT_RPS]: '-1' }, rules: [rule('a.example.com', path('/', 'web'))] }),
    ]);
    assert.deepEqual(
      problems.map((p) => p.severity),
      ['warning'],
      show(problems),
    );
    const block = locationBlock(renderText(model), 'a.example.com', '/');
    assert.doesNotMatch(block, /limit_req|return 503/);
    assert.match(block, /proxy_pass/);
  });

  it('renders the zones once in the http block and the limits in each location of the Ingress', () => {
    const { model, problems } = build(
      [
        ...backend,
        configMap({ 'limit-req-status-code': '429' }),
        ingress({
          name: 'web',
          annotations: {
            [LIMIT_RPS]: '3',
            [LIMIT_RPM]: '100',
            [LIMIT_CONNECTIONS]: '2',
            [LIMIT_BURST_MULTIPLIER]: '2',
          },
          rules: [rule('a.example.com', path('/app', 'web'), path('/api', 'web'))],
        }),
        ingress({ name: 'free', rules: [rule('a.example.com', path('/free', 'web'))] }),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    const http = text.slice(0, text.indexOf('## start server'));
    for (const line of [
      'limit_conn_zone $binary_remote_addr zone=default/web/conn:5m;',
      'limit_req_zone $binary_remote_addr zone=default/web/rpm:5m rate=100r/m;',
      'limit_req_zone $binary_remote_addr zone=default/web/rps:5m rate=3r/s;',
    ])
      assert.equal(http.split(`\n    ${line}\n`).length, 2, `${line} once in\n${http}`);
    for (const pattern of ['/app/', '/api/']) {
      const lines = locationBlock(text, 'a.example.com', pattern)
        .split('\n')
        .map((l) => l.trim())
        .filter((l) => l.startsWith('limit_'));
      assert.deepEqual(lines, [
        'limit_conn default/web/conn 2;',
        'limit_req zone=default/web/rpm burst=200 nodelay;',
        'limit_req zone=default/web/rps burst=6 nodelay;',
        'limit_conn_status 503;',
        'limit_req_status 429;',
      ]);
    }
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/free/'), /limit_/);
  });

  it('nginx -t accepts zones of several Ingresses and namespaces', async function () {
    if (!fs.existsSync(NGINX)) this.skip();
    this.timeout(30_000);
    const { model } = build([
      ...backend,
      service({ name: 'web', namespace: 'other' }),
      ingress({
        name: 'web',
        annotations: {
          [LIMIT_RPS]: '100000',
          [LIMIT_RPM]: '1',
          [LIMIT_CONNECTIONS]: '1',
          [LIMIT_BURST_MULTIPLIER]: '1000',
        },
        rules: [rule('a.example.com', path('/app', 'web'))],
      }),
      ingress({
        name: 'web.v2',
        annotations: { [LIMIT_RPS]: '1' },
        rules: [rule('a.example.com', path('/v2', 'web'))],
      }),
      ingress({
        name: 'web',
        namespace: 'other',
        annotations: { [LIMIT_CONNECTIONS]: '10' },
        rules: [rule('b.example.com', path('/', 'web'))],
      }),
    ]);
    assert.equal(model.http['rate-limit']?.length, 5);
    await nginxAccepts(model);
  });
});
