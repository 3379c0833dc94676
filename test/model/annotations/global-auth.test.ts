// The ConfigMap's global external auth (global-auth-url and its keys, no-auth-locations, the annotation
// enable-global-auth): which locations it guards, what an invalid key denies, and what nginx is given.
import assert from 'node:assert/strict';
import {
  AUTH_URL,
  authPathFor,
  ENABLE_GLOBAL_AUTH,
  GLOBAL_AUTH_PATH,
  parseSignin,
} from '../../../src/model/annotations/external-auth.js';
import type { ExternalAuthConfig } from '../../../src/model/annotations/external-auth.js';
import type { Model } from '../../../src/model/index.js';
import { parseSettings } from '../../../src/model/settings.js';
import type { Resource } from '../../../src/resources.js';
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
} from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const HOST = 'global-external-auth.example.com';
const GLOBAL_URL = 'http://10.0.0.9:8080/status/401';
const ing = (name: string, paths: string[], annotations: Record<string, string> = {}, host = HOST) =>
  ingress({ name, annotations, rules: [rule(host, ...paths.map((p) => path(p, 'web')))] });
const withSettings = (data: Record<string, string>, ...resources: Resource[]) =>
  build([...web, configMap(data), ...resources], CONFIG_MAP_OPTION);
const locationAt = (model: Model, at: string, host = HOST) =>
  model.servers.find((server) => server.host === host)!.locations.find((location) => location.path === at)!;
const authOf = (model: Model, at: string, host = HOST) =>
  locationAt(model, at, host).ann['external-auth'] as ExternalAuthConfig | undefined;

describe('model/annotations/external-auth: global auth (ConfigMap)', () => {
  it('settings: the keys parse, empty values mean absent, defaults as ingress-nginx', () => {
    const { settings, problems } = parseSettings(
      configMap({
        'global-auth-url': ' https://auth.example.com/verify ',
        'global-auth-method': 'POST',
        'global-auth-signin': 'https://login.example.com/start',
        'global-auth-signin-redirect-param': 'back',
        'global-auth-response-headers': 'X-User, X-Email',
        'global-auth-request-redirect': 'https://app.example.com/after',
        'no-auth-locations': '/public, /healthz',
      }),
    );
    assert.deepEqual(problems, [], show(problems));
    assert.deepEqual(settings.globalAuthUrl, {
      url: 'https://auth.example.com/verify',
      host: 'auth.example.com',
      hostname: 'auth.example.com',
    });
    assert.equal(settings.globalAuthMethod, 'POST');
    assert.equal(settings.globalAuthSignin, 'https://login.example.com/start');
    assert.equal(settings.globalAuthSigninRedirectParam, 'back');
    assert.ok(settings.globalAuthResponseHeaders);
    assert.deepEqual(
      settings.globalAuthResponseHeaders.map((header) => header.name),
      ['X-User', 'X-Email'],
    );
    assert.equal(settings.globalAuthRequestRedirect, 'https://app.example.com/after');
    assert.deepEqual(settings.noAuthLocations, ['/public', '/healthz']);
    const defaults = parseSettings(configMap({ 'global-auth-url': '', 'global-auth-method': '' })).settings;
    assert.equal(defaults.globalAuthUrl, null);
    assert.equal(defaults.globalAuthMethod, 'GET');
    assert.deepEqual(defaults.noAuthLocations, ['/.well-known/acme-challenge']);
  });

  it('settings: an invalid security key is an error saying what it denies, and is stored as refused (false)', () => {
    for (const [key, value, field] of [
      ['global-auth-url', 'http://$host/verify', 'globalAuthUrl'],
      ['global-auth-method', 'FETCH', 'globalAuthMethod'],
      ['global-auth-signin', 'https://login.example.com/?u=$cookie_session', 'globalAuthSignin'],
      ['global-auth-response-headers', 'X-Real-IP', 'globalAuthResponseHeaders'],
      ['global-auth-request-redirect', '$request_uri', 'globalAuthRequestRedirect'],
    ] as const) {
      const { settings, problems } = parseSettings(configMap({ [key]: value }));
      assert.equal(settings[field], false, key);
      assert.equal(problems.length, 1, key);
      assert.equal(problems[0]!.severity, 'error');
      assert.equal(problems[0]!.field, `data.${key}`);
      assert.match(problems[0]!.message, /every path the global auth guards answers 503/, key);
    }
    // the redirect parameter only shapes the sign-in URL: an invalid one is ignored, rd applies
    const param = parseSettings(configMap({ 'global-auth-signin-redirect-param': 'a b' }));
    assert.equal(param.settings.globalAuthSigninRedirectParam, 'rd');
    assert.match(param.problems[0]!.message, /ignored, its default applies/);
  });

  // the model side of ingress-nginx's global_external_auth.go cases (test/e2e/global-auth.test.ts names them)
  it('every location of every Ingress without an auth-url of its own gets the global auth', () => {
    const { model, problems } = withSettings(
      { 'global-auth-url': GLOBAL_URL },
      ing('foo-ingress', ['/foo']),
      ing('bar-ingress', ['/bar']),
    );
    assert.deepEqual(problems, [], show(problems));
    for (const at of ['/foo', '/bar']) {
      const auth = authOf(model, at)!;
      assert.equal(auth.authPath, GLOBAL_AUTH_PATH);
      assert.equal(auth.url, GLOBAL_URL);
      assert.equal(auth.method, 'GET');
      assert.equal(locationAt(model, at).denied, null);
    }
    const server = model.servers.find((s) => s.host === HOST)!;
    assert.deepEqual(
      server.ann['external-auth']!.locations.map((location) => [location.path, location.global]),
      [[GLOBAL_AUTH_PATH, true]],
      'one internal location for the global auth per server',
    );
    assert.equal(withSettings({}, ing('foo-ingress', ['/foo'])).model.servers[1]!.ann['external-auth'], undefined);
  });

  it("an Ingress's own auth-url wins over the global one", () => {
    const { model } = withSettings(
      { 'global-auth-url': GLOBAL_URL },
      ing('own', ['/own'], { [AUTH_URL]: 'http://10.0.0.8/verify' }),
      ing('other', ['/other']),
    );
    assert.equal(authOf(model, '/own')!.url, 'http://10.0.0.8/verify');
    assert.equal(authOf(model, '/own')!.authPath, authPathFor('default/own'));
    assert.equal(authOf(model, '/other')!.authPath, GLOBAL_AUTH_PATH);
  });

  it('no-auth-locations: Ingress paths under its prefixes are not guarded; by default the ACME challenges', () => {
    const resources = [ing('foo-ingress', ['/foo']), ing('bar-ingress', ['/bar', '/barn'])];
    const listed = withSettings({ 'global-auth-url': GLOBAL_URL, 'no-auth-locations': '/bar' }, ...resources).model;
    assert.equal(authOf(listed, '/foo')?.authPath, GLOBAL_AUTH_PATH);
    // a prefix of the path, as ingress-nginx compares them
    assert.equal(authOf(listed, '/bar'), undefined);
    assert.equal(authOf(listed, '/barn'), undefined);
    const acme = withSettings(
      { 'global-auth-url': GLOBAL_URL },
      ing('solver', ['/.well-known/acme-challenge/token-1']),
      ing('site', ['/']),
    ).model;
    assert.equal(authOf(acme, '/.well-known/acme-challenge/token-1'), undefined);
    assert.equal(authOf(acme, '/')?.authPath, GLOBAL_AUTH_PATH, 'the root path is not under the prefix');
  });

  it('enable-global-auth: "false" opts an Ingress out; an invalid value is ignored (guarded) with a warning', () => {
    const { model, problems } = withSettings(
      { 'global-auth-url': GLOBAL_URL },
      ing('foo-ingress', ['/foo'], { [ENABLE_GLOBAL_AUTH]: 'true' }),
      ing('bar-ingress', ['/bar'], { [ENABLE_GLOBAL_AUTH]: 'false' }),
      ing('odd', ['/odd'], { [ENABLE_GLOBAL_AUTH]: 'no' }),
    );
    assert.equal(authOf(model, '/foo')?.authPath, GLOBAL_AUTH_PATH);
    assert.equal(authOf(model, '/bar'), undefined);
    assert.equal(authOf(model, '/odd')?.authPath, GLOBAL_AUTH_PATH);
    assert.equal(problems.length, 1, show(problems));
    assert.equal(problems[0]!.severity, 'warning');
    assert.equal(problems[0]!.field, `metadata.annotations["${ENABLE_GLOBAL_AUTH}"]`);
    // without a global-auth-url the annotation does nothing and is no problem
    assert.deepEqual(withSettings({}, ing('bar-ingress', ['/bar'], { [ENABLE_GLOBAL_AUTH]: 'false' })).problems, []);
  });

  it('fails closed: an invalid global key denies what it would guard, and nothing else', () => {
    const { model, problems } = withSettings(
      { 'global-auth-url': 'http://auth.example.com/$request_uri', 'no-auth-locations': '/public' },
      ing('guarded', ['/app']),
      ing('public', ['/public']),
      ing('optout', ['/mine'], { [ENABLE_GLOBAL_AUTH]: 'false' }),
      ing('own', ['/own'], { [AUTH_URL]: 'http://10.0.0.8/verify' }),
    );
    assert.match(locationAt(model, '/app').denied!, /invalid global external auth setting/);
    assert.equal(authOf(model, '/app'), undefined, 'nothing of the refused config reaches the template');
    for (const at of ['/public', '/mine', '/own']) assert.equal(locationAt(model, at).denied, null, at);
    assert.equal(problems.filter((problem) => problem.severity === 'error').length, 1, show(problems));
    // the same for a key other than the URL
    const method = withSettings({ 'global-auth-url': GLOBAL_URL, 'global-auth-method': 'get' }, ing('g', ['/app']));
    assert.match(locationAt(method.model, '/app').denied!, /invalid global external auth setting/);
    const text = renderText(model);
    assert.match(locationBlock(text, HOST, '/app/'), /return 503;/);
    assert.doesNotMatch(text, /_external-auth-global/);
  });

  it('global-auth-snippet is not supported: reported once, it denies what the global auth guards', () => {
    for (const allow of ['false', 'true']) {
      const { model, problems } = withSettings(
        {
          'global-auth-url': GLOBAL_URL,
          'global-auth-snippet': 'proxy_set_header My-Custom-Header 42;',
          'allow-snippet-annotations': allow,
        },
        ing('one', ['/one']),
        ing('two', ['/two'], { [ENABLE_GLOBAL_AUTH]: 'false' }),
      );
      assert.match(locationAt(model, '/one').denied!, /invalid global external auth setting/);
      assert.equal(locationAt(model, '/two').denied, null);
      const errors = problems.filter((problem) => problem.field === 'data.global-auth-snippet');
      assert.equal(errors.length, 1, show(problems));
      assert.match(errors[0]!.message, /not supported.*every path the global auth guards answers 503/);
    }
    // without a global-auth-url it does nothing, as in ingress-nginx
    assert.deepEqual(withSettings({ 'global-auth-snippet': 'x;' }, ing('one', ['/one'])).problems, []);
  });

  it("a global-auth-url host that does not resolve denies the guarded paths; the problem is the ConfigMap's, once", () => {
    const { model, problems } = build(
      [
        ...web,
        configMap({ 'global-auth-url': 'http://auth.invalid/verify' }),
        ing('one', ['/one']),
        ing('two', ['/two']),
        ing('optout', ['/three'], { [ENABLE_GLOBAL_AUTH]: 'false' }),
      ],
      { ...CONFIG_MAP_OPTION, resolved: new Map([['auth.invalid', []]]) },
    );
    assert.match(locationAt(model, '/one').denied!, /does not resolve/);
    assert.match(locationAt(model, '/two').denied!, /does not resolve/);
    assert.equal(locationAt(model, '/three').denied, null);
    const errors = problems.filter((problem) => problem.severity === 'error');
    assert.equal(errors.length, 1, show(problems));
    assert.equal(errors[0]!.field, 'data.global-auth-url');
    assert.match(errors[0]!.message, /auth\.invalid .*does not resolve; every path the global auth guards answers 503/);
  });

  it('parseSignin: the redirect parameter is global-auth-signin-redirect-param', () => {
    const text = (parts: ReturnType<typeof parseSignin>) =>
      parts!.map((part) => part.text ?? `<${part.var!.join('_')}>`).join('');
    assert.equal(
      text(parseSignin('https://login.example.com/start', 'back')),
      'https://login.example.com/start?back=<scheme>://<http_host><ingress_templater_escaped_request_uri>',
    );
    assert.equal(
      text(parseSignin('https://login.example.com/start?back=/home', 'back')),
      'https://login.example.com/start?back=/home',
    );
    assert.match(text(parseSignin('https://login.example.com/start?rd=/home', 'back')), /\?rd=\/home&back=<scheme>/);
  });

  // what ingress-nginx's global_external_auth.go checked in the config text, here in ours and by nginx -t
  it('renders the global internal location with method, request redirect, sign-in and headers; nginx accepts it', async () => {
    const { model, problems } = withSettings(
      {
        'global-auth-url': 'http://localhost:8080/verify',
        'global-auth-method': 'POST',
        'global-auth-signin': 'http://foo.com/global-error-page',
        'global-auth-response-headers': 'Foo, Bar',
        'global-auth-request-redirect': 'Foo-Redirect',
      },
      ing('foo-ingress', ['/foo']),
      ing('open', ['/'], { [ENABLE_GLOBAL_AUTH]: 'false' }, 'open.example.com'),
    );
    assert.deepEqual(problems, [], show(problems));
    for (const balancer of ['lua', 'static'] as const) {
      const text = renderText(model, balancer);
      const loc = locationBlock(text, HOST, '/foo/');
      assert.match(loc, new RegExp(`auth_request "${GLOBAL_AUTH_PATH}";`));
      assert.match(loc, /auth_request_set \$ingress_templater_auth_foo \$upstream_http_foo;/);
      assert.match(loc, /auth_request_set \$ingress_templater_auth_bar \$upstream_http_bar;/);
      assert.match(loc, /error_page 401 = \$ingress_templater_signin;/);
      const internal = text.slice(text.indexOf(`location = "${GLOBAL_AUTH_PATH}" {`));
      assert.match(text, /# global external auth \(ConfigMap global-auth-url\)/);
      assert.match(internal, /proxy_method POST;/);
      assert.match(internal, /proxy_set_header X-Auth-Request-Redirect "Foo-Redirect";/);
      assert.match(internal, /proxy_pass "http:\/\/localhost:8080\/verify";/);
      assert.doesNotMatch(locationBlock(text, 'open.example.com', '/'), /auth_request/);
    }
    await nginxAccepts(model);
  });
});
