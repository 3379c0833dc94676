import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import {
  CONNECTION_PROXY_HEADER,
  isVhost,
  parseHeaders,
  proxySetHeaders,
  UPSTREAM_VHOST,
  X_FORWARDED_PREFIX,
} from '../../../src/model/annotations/headers.js';
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
const ing = (annotations: Record<string, string>) =>
  ingress({ name: 'web', namespace: 'shop', annotations, rules: [rule('a.example.com', path('/', 'web'))] });
const parse = (annotations: Record<string, string>) => {
  const problems: Problem[] = [];
  return { config: parseHeaders(ing(annotations), ctx, problems), problems };
};

const backend = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('model/annotations/headers', () => {
  it('upstream-vhost and x-forwarded-prefix are supported annotations', () => {
    assert.ok(SUPPORTED.has(UPSTREAM_VHOST));
    assert.ok(SUPPORTED.has(X_FORWARDED_PREFIX));
  });

  it('accepts host names, addresses and ports for upstream-vhost', () => {
    for (const value of [
      'internal.example.com',
      'Backend.Local',
      'svc',
      '10.0.0.1',
      '10.0.0.1:8080',
      'api.example.com:443',
      '[fd00::1]',
      '[::1]:80',
    ]) {
      assert.ok(isVhost(value), value);
    }
    for (const raw of [
      '',
      'a b',
      'a;b',
      'a"b',
      '$host',
      'a\nb',
      'host:0',
      'host:65536',
      'host:',
      '[fd00::zz]',
      'fd00::1',
      'a..b',
      '-a.com',
      'a_b.com',
      'x'.repeat(254),
      'a/b',
      'a{b}',
    ]) {
      assert.ok(!isVhost(raw), JSON.stringify(raw));
    }
  });

  it('reads both annotations; an empty prefix sends no header', () => {
    assert.deepEqual(parse({ [UPSTREAM_VHOST]: 'internal.example.com', [X_FORWARDED_PREFIX]: '/app' }), {
      config: { host: 'internal.example.com', prefix: '/app' },
      problems: [],
    });
    assert.deepEqual(parse({ [X_FORWARDED_PREFIX]: '' }), { config: undefined, problems: [] });
    assert.deepEqual(parse({}), { config: undefined, problems: [] });
  });

  for (const [key, value] of [
    [UPSTREAM_VHOST, 'a b'],
    [UPSTREAM_VHOST, 'evil.com;\nproxy_pass http://x'],
    [UPSTREAM_VHOST, '$http_x'],
    [UPSTREAM_VHOST, 'a"b'],
    [X_FORWARDED_PREFIX, 'app'],
    [X_FORWARDED_PREFIX, '/a\nX-Evil: 1'],
    [X_FORWARDED_PREFIX, '/a b'],
    [X_FORWARDED_PREFIX, '/$uri'],
    [X_FORWARDED_PREFIX, '/a;b'],
    [X_FORWARDED_PREFIX, '/a"'],
  ] as const) {
    it(`refuses ${key.split('/')[1]}: ${JSON.stringify(value)}`, () => {
      const { config, problems } = parse({ [key]: value });
      assert.equal(config, undefined);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'error');
      assert.equal(problems[0]!.object, 'Ingress shop/web');
      assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
      assert.ok(problems[0]!.message.includes(JSON.stringify(value).slice(0, 40)), problems[0]!.message);
    });
  }

  it('renders variables the http-level proxy_set_header lines read: http-level maps give the defaults, locations override', () => {
    const { model, problems } = build([
      ...backend,
      ingress({
        name: 'vhost',
        annotations: { [UPSTREAM_VHOST]: 'internal.example.com', [X_FORWARDED_PREFIX]: '/shop' },
        rules: [rule('a.example.com', path('/shop', 'web'))],
      }),
      ingress({ name: 'plain', rules: [rule('a.example.com', path('/other', 'web'))] }),
    ]);
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    assert.match(text, /\n {4}proxy_set_header Host \$ingress_templater_host;\n/);
    assert.match(text, /\n {4}proxy_set_header X-Forwarded-Prefix \$ingress_templater_forwarded_prefix;\n/);
    assert.doesNotMatch(text, /proxy_set_header Host \$best_http_host/);
    // the defaults come from maps, never from a server-level set (an auth subrequest would run it again)
    assert.match(
      text,
      /\n {4}map \$http_host \$ingress_templater_host \{\n {8}default \$http_host;\n {8}''\s+\$host;\n {4}\}\n/,
    );
    assert.match(text, /\n {4}map \$https \$ingress_templater_forwarded_prefix \{ default ""; \}\n/);
    assert.doesNotMatch(text, /\n {8}set \$ingress_templater_(host|forwarded_prefix) /);
    const shop = locationBlock(text, 'a.example.com', '/shop/');
    assert.match(shop, /set \$ingress_templater_host "internal\.example\.com";/);
    assert.match(shop, /set \$ingress_templater_forwarded_prefix "\/shop";/);
    // no location sets a proxy header itself (that would drop the http-level ones)
    assert.doesNotMatch(text.replace(/\n {4}proxy_set_header [^\n]*/g, ''), /proxy_set_header/);
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/other/'), /ingress_templater_host|forwarded_prefix/);
  });

  describe('ConfigMap proxy-set-headers', () => {
    it('the setting takes namespace/name only', () => {
      for (const value of ['ingress/custom-headers', 'default/a.b-c']) {
        assert.equal(parseSettings(configMap({ 'proxy-set-headers': value })).settings.proxySetHeaders, value);
      }
      for (const raw of ['custom-headers', 'a/b/c', 'A/b', 'a/b;', 'a/', '/b', 'a b/c']) {
        const { settings, problems } = parseSettings(configMap({ 'proxy-set-headers': raw }));
        assert.equal(settings.proxySetHeaders, null, raw);
        assert.equal(problems.length, 1, raw);
        assert.match(problems[0]!.message, /namespace\/name/);
      }
    });

    const headersCm = (data: Record<string, string>) => configMap(data, 'custom-headers', 'ingress');
    const lookup = (data: Record<string, string>) => ({
      configMap: (ns: string, name: string) =>
        ns === 'ingress' && name === 'custom-headers' ? headersCm(data) : undefined,
    });

    it('reads valid headers, sorted by name; nothing without the setting', () => {
      const problems: Problem[] = [];
      assert.deepEqual(
        proxySetHeaders(
          'ingress/custom-headers',
          lookup({ 'X-Team': 'payments', 'X-Using-Nginx-Controller': 'true', 'X_Odd.Name': 'a=b, c (d) {e}; #f' }),
          problems,
        ),
        [
          { name: 'X-Team', value: 'payments' },
          { name: 'X-Using-Nginx-Controller', value: 'true' },
          { name: 'X_Odd.Name', value: 'a=b, c (d) {e}; #f' },
        ],
      );
      assert.deepEqual(problems, [], show(problems));
      assert.deepEqual(proxySetHeaders(null, lookup({ 'X-A': '1' }), []), []);
    });

    it('a missing ConfigMap is a warning', () => {
      const problems: Problem[] = [];
      assert.deepEqual(proxySetHeaders('ingress/nowhere', lookup({}), problems), []);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.severity, 'warning');
      assert.match(problems[0]!.message, /ingress\/nowhere/);
    });

    it('reports and leaves out bad values, reserved and duplicate names; keeps the good ones', () => {
      const problems: Problem[] = [];
      const out = proxySetHeaders(
        'ingress/custom-headers',
        lookup({
          'X-Newline': 'a\nb',
          'X-Tab': 'a\tb',
          'X-Unicode': 'caf\u00e9',
          'X-Long': 'x'.repeat(1025),
          Host: 'evil.com',
          'x-forwarded-for': '1.2.3.4',
          'X-Good': 'yes',
          'x-good': 'again',
          '-bad': 'v',
        }),
        problems,
      );
      assert.deepEqual(out, [{ name: 'X-Good', value: 'yes' }]);
      assert.equal(problems.length, 8, show(problems));
      assert.ok(
        problems.every((p) => p.severity === 'error' && p.object === 'ConfigMap ingress/custom-headers'),
        show(problems),
      );
      const newline = problems.find((p) => p.field === 'data.X-Newline')!;
      assert.match(newline.message, /invalid value "a\\nb"/);
    });

    it('keeps quotes, backslashes and "$" (escaped when rendered: only the allowed variables expand)', async () => {
      const data = {
        'X-Quote': 'a"b',
        'X-Single': "it's",
        'X-Dollar': '$remote_addr',
        'X-Backslash': 'a\\b',
        'X-Request-Start': 't=${msec}',
      };
      const problems: Problem[] = [];
      assert.deepEqual(
        proxySetHeaders('ingress/custom-headers', lookup(data), problems).map((header) => header.value),
        ['a\\b', '$remote_addr', 'a"b', 't=${msec}', "it's"],
      );
      assert.deepEqual(problems, []);
      const { model } = build(
        [...backend, configMap({ 'proxy-set-headers': 'ingress/custom-headers' }), headersCm(data)],
        CONFIG_MAP_OPTION,
      );
      const text = renderText(model);
      assert.match(text, /proxy_set_header X-Request-Start "t=\$\{msec\}";/);
      assert.match(text, /proxy_set_header X-Dollar "\$\{ingress_templater_dollar\}remote_addr";/);
      assert.match(text, /proxy_set_header X-Quote "a\\"b";/);
      assert.match(text, /proxy_set_header X-Backslash "a\\\\b";/);
      assert.match(text, /geo \$ingress_templater_dollar/);
      await nginxAccepts(model);
    });

    it('refuses the headers the controller sets itself, also spelt with "_" (which CGI-style backends read as "-")', () => {
      const problems: Problem[] = [];
      const out = proxySetHeaders(
        'ingress/custom-headers',
        lookup({
          'ssl-client-verify': 'SUCCESS',
          'SSL-Client-Subject-DN': 'CN=admin',
          X_Real_IP: '1.2.3.4',
          'X-Request-ID': 'x',
          'X-Code': '200',
          Proxy: 'p',
          'X-Ok': 'yes',
        }),
        problems,
      );
      assert.deepEqual(out, [{ name: 'X-Ok', value: 'yes' }]);
      assert.equal(problems.length, 6, show(problems));
      assert.ok(
        problems.every((p) => p.severity === 'error' && /set by the controller itself/.test(p.message)),
        show(problems),
      );
    });

    it('buildModel renders them once in the http block', () => {
      const { model, problems } = build(
        [
          ...backend,
          configMap({ 'proxy-set-headers': 'ingress/custom-headers' }),
          headersCm({ 'X-Team': 'payments', 'X-Bad': 'a\nb' }),
          ingress({ name: 'a', rules: [rule('a.example.com', path('/', 'web'))] }),
          ingress({ name: 'b', rules: [rule('b.example.com', path('/', 'web'))] }),
        ],
        CONFIG_MAP_OPTION,
      );
      assert.equal(problems.length, 1, show(problems));
      assert.deepEqual(model.http.headers, [{ headers: [{ name: 'X-Team', value: 'payments' }] }]);
      const text = renderText(model);
      assert.equal(text.split('proxy_set_header X-Team "payments";').length, 2, text);
      assert.doesNotMatch(text, /X-Bad/);
      const http = text.slice(text.indexOf('http {'), text.indexOf('## start server'));
      assert.match(http, /\n {4}proxy_set_header X-Team "payments";\n/);
    });
  });

  it('nginx -t accepts the rendered headers in both balancer modes', async function () {
    if (!fs.existsSync(NGINX)) this.skip();
    this.timeout(30_000);
    const { model } = build(
      [
        ...backend,
        configMap({ 'proxy-set-headers': 'ingress/custom-headers' }),
        configMap({ 'X-Team': 'payments', 'X_Weird.Name': 'a {b}; c # d' }, 'custom-headers', 'ingress'),
        ingress({
          name: 'vhost',
          annotations: { [UPSTREAM_VHOST]: '[fd00::1]:8080', [X_FORWARDED_PREFIX]: '/a(b)~c' },
          rules: [rule('a.example.com', path('/shop', 'web'))],
        }),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.equal(model.http.headers?.length, 1);
    await nginxAccepts(model);
  });

  // ingress-nginx took close or keep-alive; any list of Connection options is read (model/annotations/headers.ts)
  it('connection-proxy-header: Connection options, comma-separated, blanks around them allowed', () => {
    assert.ok(SUPPORTED.has(CONNECTION_PROXY_HEADER));
    for (const value of ['keep-alive', 'close', 'Upgrade', 'keep-alive, Upgrade', 'a,b'])
      assert.deepEqual(parse({ [CONNECTION_PROXY_HEADER]: value }), {
        config: { host: null, prefix: null, connection: value },
        problems: [],
      });
    assert.deepEqual(parse({ [CONNECTION_PROXY_HEADER]: ' close ' }).config?.connection, 'close');
  });

  for (const value of [
    '',
    'close\r\nX-Injected: 1',
    'keep alive',
    '"close"',
    '$http_connection',
    'close;',
    'a,',
    'x'.repeat(65),
  ])
    it(`connection-proxy-header refuses ${JSON.stringify(value).slice(0, 30)}: no config, a problem naming the value`, () => {
      const { config, problems } = parse({ [CONNECTION_PROXY_HEADER]: value });
      assert.equal(config, undefined);
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.field, `metadata.annotations["${CONNECTION_PROXY_HEADER}"]`);
      assert.ok(problems[0]!.message.includes(JSON.stringify(value).slice(0, 40)), problems[0]!.message);
    });

  it('connection-proxy-header: an invalid value is tolerated (the path is served, the default Connection applies)', () => {
    const { model, problems } = build([
      ...backend,
      ingress({
        name: 'bad',
        annotations: { [CONNECTION_PROXY_HEADER]: 'close\nX-Evil: 1' },
        rules: [rule('a.example.com', path('/', 'web'))],
      }),
    ]);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'warning');
    const text = renderText(model);
    assert.doesNotMatch(text, /set \$connection_upgrade/);
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/'), /return 503/);
  });

  it('connection-proxy-header: the location sets $connection_upgrade, the http level keeps its one list; nginx -t accepts', async function () {
    this.timeout(30_000);
    const { model, problems } = build([
      ...backend,
      ingress({
        name: 'keep',
        annotations: { [CONNECTION_PROXY_HEADER]: 'keep-alive' },
        rules: [rule('a.example.com', path('/keep', 'web'))],
      }),
      ingress({ name: 'plain', rules: [rule('a.example.com', path('/plain', 'web'))] }),
    ]);
    assert.deepEqual(problems, [], show(problems));
    const text = renderText(model);
    assert.match(locationBlock(text, 'a.example.com', '/keep/'), /\n {12}set \$connection_upgrade "keep-alive";\n/);
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/plain/'), /connection/i);
    assert.equal(text.match(/proxy_set_header Connection /g)?.length, 1, 'one Connection line, at http level');
    assert.doesNotMatch(locationBlock(text, 'a.example.com', '/keep/'), /proxy_set_header/);
    if (fs.existsSync(NGINX)) await nginxAccepts(model);
  });
});
