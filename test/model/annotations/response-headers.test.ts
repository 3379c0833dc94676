// Response headers: the custom-headers annotation, the ConfigMap keys add-headers and
// global-allowed-response-headers (model/annotations/response-headers.ts), rendered with headers-more
// (more_set_headers) or, for an nginx without it, with add_header.
import assert from 'node:assert/strict';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import { CUSTOM_HEADERS } from '../../../src/model/annotations/response-headers.js';
import type { Model } from '../../../src/model/index.js';
import { referencedObjects } from '../../../src/model/references.js';
import { parseSettings } from '../../../src/model/settings.js';
import type { NginxFeatures } from '../../../src/render/index.js';
import type { Resource } from '../../../src/resources.js';
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
  storeOf,
} from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const MORE: NginxFeatures = { tempPaths: [], headersMore: { module: '/usr/lib/nginx/modules/headers-more.so' } };
const backend = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const settings = (data: Record<string, string>) => configMap(data);
const headersCm = (data: Record<string, string>, name = 'resp', namespace = 'default') =>
  configMap(data, name, namespace);
const web = (annotations: Record<string, string>, host = 'a.example.com', name = 'web') =>
  ingress({ name, annotations, rules: [rule(host, path('/', 'web'))] });
const allowAll = settings({ 'global-allowed-response-headers': 'X-Start, X-Team,Content-Type' });

function modelOf(resources: Resource[]) {
  return build([...backend, ...resources], CONFIG_MAP_OPTION);
}
const rootOf = (model: Model, host = 'a.example.com') =>
  model.servers.find((server) => server.host === host)!.locations.find((location) => location.path === '/')!;

describe('model/annotations/response-headers', () => {
  it('custom-headers is a supported annotation', () => {
    assert.ok(SUPPORTED.has(CUSTOM_HEADERS));
  });

  describe('settings', () => {
    it('global-allowed-response-headers: a comma list, blanks ignored; empty by default', () => {
      assert.deepEqual(parseSettings(undefined).settings.globalAllowedResponseHeaders, []);
      const { settings: parsed, problems } = parseSettings(
        settings({ 'global-allowed-response-headers': ' X-A ,X_b,, Content-Type ' }),
      );
      assert.deepEqual(parsed.globalAllowedResponseHeaders, ['X-A', 'X_b', 'Content-Type']);
      assert.deepEqual(problems, []);
      for (const bad of ['X A', 'X-A,"x"', 'a:b']) {
        const result = parseSettings(settings({ 'global-allowed-response-headers': bad }));
        assert.deepEqual(result.settings.globalAllowedResponseHeaders, [], bad);
        assert.equal(result.problems.length, 1, bad);
      }
    });

    it('add-headers takes namespace/name only', () => {
      assert.equal(parseSettings(settings({ 'add-headers': 'ingress/h' })).settings.addHeaders, 'ingress/h');
      const { settings: parsed, problems } = parseSettings(settings({ 'add-headers': 'h' }));
      assert.equal(parsed.addHeaders, null);
      assert.match(problems[0]!.message, /namespace\/name/);
    });
  });

  describe('custom-headers', () => {
    it('the ConfigMap of the Ingress namespace, its headers sorted, values with variables kept', () => {
      const { model, problems } = modelOf([
        allowAll,
        headersCm({ 'X-Team': 'payments', 'X-Start': 't=${msec}', 'Content-Type': 'application/json' }),
        web({ [CUSTOM_HEADERS]: 'resp' }),
      ]);
      assert.deepEqual(problems, [], show(problems));
      const location = rootOf(model);
      assert.equal(location.denied, null);
      assert.deepEqual(location.ann['response-headers'], {
        configMap: 'default/resp',
        headers: [
          { name: 'Content-Type', value: 'application/json' },
          { name: 'X-Start', value: 't=${msec}' },
          { name: 'X-Team', value: 'payments' },
        ],
      });
      // namespace/name of the same namespace is the same ConfigMap
      const again = modelOf([allowAll, headersCm({ 'X-Team': 'a' }), web({ [CUSTOM_HEADERS]: 'default/resp' })]);
      assert.deepEqual(again.problems, []);
      assert.equal(rootOf(again.model).ann['response-headers']?.headers[0]?.value, 'a');
    });

    const deniedBy = (resources: Resource[], pattern: RegExp) => {
      const { model, problems } = modelOf(resources);
      assert.ok(rootOf(model).denied, 'the paths answer 503');
      const errors = problems.filter((problem) => problem.severity === 'error');
      assert.equal(errors.length, 1, show(problems));
      assert.equal(errors[0]!.field, `metadata.annotations["${CUSTOM_HEADERS}"]`);
      assert.match(errors[0]!.message, pattern);
    };

    it('a missing ConfigMap denies the paths, as ingress-nginx did', () => {
      deniedBy([allowAll, web({ [CUSTOM_HEADERS]: 'default/nowhere' })], /ConfigMap default\/nowhere not found/);
    });

    it('a header outside global-allowed-response-headers denies the paths (none is allowed by default)', () => {
      deniedBy(
        [allowAll, headersCm({ 'X-Team': 'a', 'X-Other': 'b' }), web({ [CUSTOM_HEADERS]: 'resp' })],
        /X-Other not in the settings' global-allowed-response-headers/,
      );
      deniedBy([headersCm({ 'X-Team': 'a' }), web({ [CUSTOM_HEADERS]: 'resp' })], /X-Team not in .*\(empty\)/);
      // header names are case-insensitive: the allow-list too
      const { problems } = modelOf([allowAll, headersCm({ 'x-team': 'a' }), web({ [CUSTOM_HEADERS]: 'resp' })]);
      assert.deepEqual(problems, [], show(problems));
    });

    it('bad names, reserved names, control characters and empty values deny the paths', () => {
      const allow = settings({
        'global-allowed-response-headers': 'X-Team,Content-Length,X-Forwarded-For,Transfer-Encoding',
      });
      for (const [data, pattern] of [
        [{ 'X:Team': 'a' }, /not a header name/],
        [{ 'Content-Length': '0' }, /Content-Length is set by nginx/],
        [{ 'Transfer-Encoding': 'chunked' }, /set by nginx/],
        [{ 'X-Forwarded-For': '1.2.3.4' }, /set by nginx/],
        [{ 'X-Team': 'a\r\nSet-Cookie: x=1' }, /invalid value/],
        [{ 'X-Team': '' }, /invalid value/],
        [{ 'X-Team': 'caf\u00e9' }, /invalid value/],
      ] as const) {
        deniedBy([allow, headersCm(data), web({ [CUSTOM_HEADERS]: 'resp' })], pattern);
      }
    });

    it("refuses another namespace's ConfigMap and malformed names, and fetches neither", () => {
      const other = headersCm({ 'X-Team': 'a' }, 'resp', 'other');
      deniedBy([allowAll, other, web({ [CUSTOM_HEADERS]: 'other/resp' })], /Ingress's namespace default/);
      deniedBy([allowAll, web({ [CUSTOM_HEADERS]: 'a/b/c' })], /a ConfigMap name, or namespace\/name/);
      const refs = referencedObjects(
        storeOf(
          settings({ 'add-headers': 'ops/add' }),
          web({ [CUSTOM_HEADERS]: 'resp' }),
          web({ [CUSTOM_HEADERS]: 'other/resp' }, 'b.example.com', 'b'),
        ),
        { ...CONFIG_MAP_OPTION, ingressClass: 'nginx', controllerClass: 'x', watchWithoutClass: true },
      );
      assert.deepEqual(refs, [
        { kind: 'ConfigMap', namespace: 'default', name: 'resp' },
        { kind: 'ConfigMap', namespace: 'ops', name: 'add' },
      ]);
    });
  });

  describe('add-headers', () => {
    it('headers for every response; a missing ConfigMap is a warning, a bad header an error and left out', () => {
      const good = build(
        [...backend, settings({ 'add-headers': 'ops/add' }), headersCm({ 'X-A': '1', 'X-B': '$host' }, 'add', 'ops')],
        CONFIG_MAP_OPTION,
      );
      assert.deepEqual(good.problems, []);
      assert.deepEqual(good.model.http['response-headers'], [
        {
          headers: [
            { name: 'X-A', value: '1' },
            { name: 'X-B', value: '$host' },
          ],
        },
      ]);
      const missing = build([...backend, settings({ 'add-headers': 'ops/add' })], CONFIG_MAP_OPTION);
      assert.deepEqual(
        missing.problems.map((problem) => problem.severity),
        ['warning'],
      );
      const bad = build(
        [
          ...backend,
          settings({ 'add-headers': 'ops/add' }),
          headersCm({ 'X-A': '1', 'Keep-Alive': 'x' }, 'add', 'ops'),
        ],
        CONFIG_MAP_OPTION,
      );
      assert.equal(bad.problems.length, 1, show(bad.problems));
      assert.equal(bad.problems[0]!.field, 'data.Keep-Alive');
      assert.deepEqual(bad.model.http['response-headers'], [{ headers: [{ name: 'X-A', value: '1' }] }]);
    });
  });

  describe('rendering', () => {
    const tls = (host: string) => [{ hosts: [host], secretName: 'tls' }];
    const fixture = () => {
      const { model, problems } = modelOf([
        settings({ 'add-headers': 'ops/add', 'global-allowed-response-headers': 'X-Start' }),
        headersCm({ 'X-Request-Start': 't=${msec}', 'X-Note': 'a "b" $remote_addr' }, 'add', 'ops'),
        headersCm({ 'X-Start': '${time_iso8601} \\" ; return 200 x' }),
        web({ [CUSTOM_HEADERS]: 'resp' }),
        ingress({ name: 'plain', rules: [rule('b.example.com', path('/', 'web'))] }),
      ]);
      assert.deepEqual(problems, [], show(problems));
      return model;
    };

    it('with headers-more: Server cleared, add-headers in http {}, custom-headers in the location', () => {
      const text = renderText(fixture(), 'static', MORE);
      assert.match(text, /^load_module "\/usr\/lib\/nginx\/modules\/headers-more.so";$/m);
      assert.match(text, /^ {4}more_clear_headers Server;$/m);
      assert.match(text, /^ {4}geo \$ingress_templater_dollar \{ default "\$"; \}$/m);
      assert.match(text, /^ {4}more_set_headers "X-Note: a \\"b\\" \$\{ingress_templater_dollar\}remote_addr";$/m);
      assert.match(text, /^ {4}more_set_headers "X-Request-Start: t=\$\{msec\}";$/m);
      assert.match(
        locationBlock(text, 'a.example.com', '/'),
        /more_set_headers "X-Start: \$\{time_iso8601\} \\\\\\" ; return 200 x";/,
      );
      assert.doesNotMatch(text, /add_header X-/);
      // more_clear_headers before any more_set_headers of http {}: a header named Server could still be set
      assert.ok(text.indexOf('more_clear_headers') < text.indexOf('more_set_headers'));
    });

    it('with headers-more and server-tokens: the Server header stays', () => {
      const { model } = modelOf([settings({ 'server-tokens': 'true' })]);
      const text = renderText(model, 'static', MORE);
      assert.doesNotMatch(text, /more_clear_headers/);
      assert.match(text, /server_tokens on;/);
    });

    it('without headers-more: add_header in every server and repeated in locations with headers of their own', () => {
      const text = renderText(fixture());
      assert.doesNotMatch(text, /more_|load_module/);
      for (const host of ['a.example.com', 'b.example.com']) {
        const server = text.slice(text.indexOf(`## start server ${host}`), text.indexOf(`## end server ${host}`));
        assert.match(server, /\n {8}add_header X-Request-Start "t=\$\{msec\}" always;/, host);
      }
      const location = locationBlock(text, 'a.example.com', '/');
      assert.match(location, /add_header X-Start "\$\{time_iso8601\} \\\\\\" ; return 200 x" always;/);
      assert.match(location, /add_header X-Request-Start "t=\$\{msec\}" always;/);
    });

    it('HSTS: more_set_headers from a map that keeps the backend header on plain HTTP; add_header without headers-more', () => {
      const { model, problems } = modelOf([
        ingress({ name: 'secure', tls: tls('s.example.com'), rules: [rule('s.example.com', path('/', 'web'))] }),
      ]);
      const more = renderText(model, 'static', MORE);
      assert.match(more, /more_set_headers "Strict-Transport-Security: \$ingress_templater_hsts";/);
      assert.match(more, /default \$upstream_http_strict_transport_security;/);
      assert.doesNotMatch(more, /add_header Strict-Transport-Security/);
      const plain = renderText(model);
      assert.match(plain, /add_header Strict-Transport-Security \$ingress_templater_hsts always;/);
      assert.match(plain, /default "";/);
      assert.ok(
        problems.every((problem) => problem.severity !== 'error'),
        show(problems),
      );
    });

    it('nginx accepts both renderings', async () => {
      await nginxAccepts(fixture());
    });
  });
});
