import assert from 'node:assert/strict';
import {
  AUTH_METHOD,
  AUTH_RESPONSE_HEADERS,
  AUTH_SIGNIN,
  AUTH_URL,
  authPathFor,
  parseAuthUrl,
  parseResponseHeaders,
  parseSignin,
} from '../../../src/model/annotations/external-auth.js';
import type { ExternalAuthConfig, SigninPart } from '../../../src/model/annotations/external-auth.js';
import type { Model } from '../../../src/model/index.js';
import { build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const web = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const ing = (annotations: Record<string, string>, name = 'site', host = 'a.example.com', paths = ['/']) =>
  ingress({ name, annotations, rules: [rule(host, ...paths.map((p) => path(p, 'web')))] });
const ext = (extra: Record<string, string> = {}) => ({ [AUTH_URL]: 'http://10.0.0.9:8080/verify', ...extra });
const locations = (model: Model, host = 'a.example.com') => model.servers.find((s) => s.host === host)!.locations;
const cfgOf = (model: Model, host = 'a.example.com') =>
  locations(model, host)[0]!.ann['external-auth'] as ExternalAuthConfig;

/** The sign-in URL nginx would build, with sample values for the variables. */
function signinText(parts: SigninPart[]): string {
  const vars: Record<string, string> = {
    host: 'H',
    http_host: 'HH',
    best_http_host: 'BH',
    scheme: 'S',
    request_uri: 'RU',
    ingress_templater_escaped_request_uri: 'ERU',
  };
  return parts.map((p) => p.text ?? `<${vars[p.var!.join('_')]}>`).join('');
}

describe('model/annotations/external-auth', () => {
  it('parseAuthUrl: http(s) URLs with a host name or IP, port, path and query; nothing nginx would read specially', () => {
    assert.deepEqual(parseAuthUrl('http://auth.example.com/verify'), {
      url: 'http://auth.example.com/verify',
      host: 'auth.example.com',
      hostname: 'auth.example.com',
    });
    assert.deepEqual(parseAuthUrl(' https://10.1.2.3:8443/a/b?x=1&y=%20 '), {
      url: 'https://10.1.2.3:8443/a/b?x=1&y=%20',
      host: '10.1.2.3:8443',
      hostname: '10.1.2.3',
    });
    assert.deepEqual(parseAuthUrl('http://[fd00::1]:81'), {
      url: 'http://[fd00::1]:81',
      host: '[fd00::1]:81',
      hostname: 'fd00::1',
    });
    assert.ok(parseAuthUrl('http://oauth2-proxy.auth.svc.cluster.local:4180/oauth2/auth'));
    for (const value of [
      '',
      'auth.example.com/verify',
      'ftp://a.example.com/',
      'http://',
      'http://$host/verify',
      'https://${host}/x',
      'http://a.example.com/$request_uri',
      'http://a.example.com/a b',
      'http://a.example.com/"x',
      "http://a.example.com/x'",
      'http://a.example.com/{x}',
      'http://a.example.com/x;\nreturn 200',
      'http://a.example.com/x#frag',
      'http://user:pw@a.example.com/',
      'http://a.example.com:0/',
      'http://a.example.com:65536/',
      'http://-bad.example.com/',
      'http://[fd00::zz]/',
      'http://999.1.1.1/',
      'http://a.example.com/x\\y',
      `http://a.example.com/${'x'.repeat(2048)}`,
    ])
      assert.equal(parseAuthUrl(value), undefined, value);
  });

  it('parseResponseHeaders: a comma list of header names, deduplicated; reserved names and odd shapes refused', () => {
    const result = parseResponseHeaders('UserID, X-Role ,userid');
    assert.deepEqual(result, {
      ok: true,
      headers: [
        { name: 'UserID', parts: ['userid'] },
        { name: 'X-Role', parts: ['x', 'role'] },
      ],
    });
    for (const value of [
      '',
      'a,,b',
      'X_Role',
      'X-',
      '-X',
      'X--Y',
      'a b',
      'a;b',
      'Host',
      'x-forwarded-for',
      'Content-Length',
      '$x',
      `${'a'.repeat(65)}`,
      Array.from({ length: 33 }, (_, i) => `h${i}`).join(','),
    ]) {
      assert.equal(parseResponseHeaders(value).ok, false, value);
    }
  });

  it('parseResponseHeaders: refuses every header the controller sets itself, in any case, naming it', () => {
    for (const value of [
      'Ssl-Client-Subject-Dn,Ssl-Client-Verify',
      'X-User, ssl-client-cert',
      'SSL-CLIENT-ISSUER-DN',
      'X-Real-IP',
      'X-Request-ID',
      'X-Forwarded-Port',
      'X-Original-URI',
      'X-Original-Url',
      'X-Original-Method',
      'X-Auth-Request-Redirect',
      'X-Sent-From',
      'X-Code',
      'X-Namespace',
      'X-Service-Name',
      'Proxy',
      'Upgrade',
    ]) {
      const result = parseResponseHeaders(value);
      assert.equal(result.ok, false, value);
      if (!result.ok) assert.match(result.reason, /which the controller sets itself/, value);
    }
    const parsed = parseResponseHeaders('X-User, Ssl-Client-Verify');
    assert.ok(!parsed.ok && parsed.reason.includes('Ssl-Client-Verify'), JSON.stringify(parsed));
    // what auth services send, the Authorization header for the backend included, stays allowed
    assert.equal(
      parseResponseHeaders('X-Auth-Request-User, X-Auth-Request-Email, Authorization, X-Forwarded-User').ok,
      true,
    );
  });

  describe('parseSignin', () => {
    it('appends rd=$scheme://$http_host$escaped_request_uri unless the URL has an rd parameter', () => {
      assert.equal(
        signinText(parseSignin('https://login.example.com/start')!),
        'https://login.example.com/start?rd=<S>://<HH><ERU>',
      );
      assert.equal(
        signinText(parseSignin('https://login.example.com/start?a=1')!),
        'https://login.example.com/start?a=1&rd=<S>://<HH><ERU>',
      );
      assert.equal(
        signinText(parseSignin('https://login.example.com/start?')!),
        'https://login.example.com/start?rd=<S>://<HH><ERU>',
      );
      assert.equal(
        signinText(parseSignin('https://login.example.com/start?rd=https://x/')!),
        'https://login.example.com/start?rd=https://x/',
      );
      assert.equal(
        signinText(parseSignin('https://login.example.com/start?ard=1')!),
        'https://login.example.com/start?ard=1&rd=<S>://<HH><ERU>',
      );
    });

    it('accepts the variables ingress-nginx users write, mapped to nginx variables', () => {
      assert.equal(
        signinText(parseSignin('https://$host/oauth2/start?rd=$escaped_request_uri')!),
        'https://<H>/oauth2/start?rd=<ERU>',
      );
      assert.equal(
        signinText(parseSignin('https://${best_http_host}/s?rd=$pass_access_scheme://$http_host$request_uri')!),
        'https://<BH>/s?rd=<S>://<HH><RU>',
      );
    });

    it('refuses other variables, characters nginx reads specially, and non-http URLs', () => {
      for (const value of [
        'https://$remote_addr/x',
        'https://a/$arg_x',
        'https://a/x"',
        'https://a/x y',
        'https://a/{x}',
        'https://a/x\\',
        'javascript:alert(1)',
        '/relative',
        'https://a/x#f',
        'https://a/$',
        'https://a/$hostx',
      ]) {
        assert.equal(parseSignin(value), undefined, value);
      }
    });
  });

  it('a location config with the internal auth path, GET by default, and the headers to copy', () => {
    const { model, problems } = build([...web, ing(ext({ [AUTH_RESPONSE_HEADERS]: 'UserID,X-Role' }))]);
    assert.equal(problems.length, 0, show(problems));
    const cfg = cfgOf(model);
    assert.equal(cfg.authPath, authPathFor('default/site'));
    assert.match(cfg.authPath, /^\/_external-auth-[0-9a-f]{16}$/);
    assert.equal(cfg.method, 'GET');
    assert.equal(cfg.host, '10.0.0.9:8080');
    assert.deepEqual(
      cfg.headers.map((h) => h.name),
      ['UserID', 'X-Role'],
    );
    assert.equal(cfg.signin, null);
  });

  it('fails closed: invalid values are errors naming annotation and value, and deny the paths', () => {
    for (const [annotations, key] of [
      [ext({ [AUTH_URL]: 'http://$host/auth' }), 'auth-url'],
      [ext({ [AUTH_METHOD]: 'get' }), 'auth-method'],
      [ext({ [AUTH_METHOD]: 'GET;' }), 'auth-method'],
      [ext({ [AUTH_RESPONSE_HEADERS]: 'X_Y' }), 'auth-response-headers'],
      [ext({ [AUTH_SIGNIN]: 'https://a/$remote_addr' }), 'auth-signin'],
    ] as [Record<string, string>, string][]) {
      const { model, problems } = build([...web, ing(annotations, 'site', 'a.example.com', ['/', '/x'])]);
      const errors = problems.filter((p) => p.severity === 'error');
      assert.equal(errors.length, 1, show(problems));
      assert.equal(errors[0]!.field, `metadata.annotations["nginx.ingress.kubernetes.io/${key}"]`);
      assert.match(errors[0]!.message, /invalid value ".*": expected .*; the Ingress's paths answer 503/);
      for (const location of locations(model)) assert.notEqual(location.denied, null);
    }
  });

  it('auth-method accepts the methods ingress-nginx does', () => {
    for (const message of ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'CONNECT', 'OPTIONS', 'TRACE']) {
      assert.equal(cfgOf(build([...web, ing(ext({ [AUTH_METHOD]: message }))]).model).method, message);
    }
  });

  it('auth-signin, auth-method or auth-response-headers without auth-url: a warning, nothing applied', () => {
    const { model, problems } = build([...web, ing({ [AUTH_SIGNIN]: 'https://login.example.com/' })]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]!.severity, 'warning');
    assert.match(problems[0]!.message, /without .*auth-url has no effect/);
    assert.equal(locations(model)[0]!.denied, null);
    assert.equal(locations(model)[0]!.ann['external-auth'], undefined);
  });

  it('every Ingress protecting paths on a host gets its own internal location there (not only the oldest); headers merge at http level', () => {
    const { model } = build([
      ...web,
      ing(ext({ [AUTH_RESPONSE_HEADERS]: 'UserID' }), 'one', 'a.example.com', ['/one']),
      ing(
        ext({ [AUTH_URL]: 'https://auth.example.com/check', [AUTH_RESPONSE_HEADERS]: 'userid, X-Team' }),
        'two',
        'a.example.com',
        ['/two'],
      ),
      ing(ext(), 'one-b', 'b.example.com', ['/']),
    ]);
    const srv = model.servers.find((s) => s.host === 'a.example.com')!.ann['external-auth'] as {
      locations: { ingress: string; path: string; url: string }[];
    };
    assert.deepEqual(srv.locations.map((l) => l.ingress).sort(), ['default/one', 'default/two']);
    assert.deepEqual(
      model.http['external-auth']!.map((h) => (h as { name: string }).name),
      ['UserID', 'X-Team'],
    );
    const text = renderText(model);
    assert.equal(text.split(`location = "${authPathFor('default/one')}" {`).length, 2);
    assert.equal(text.split(`location = "${authPathFor('default/two')}" {`).length, 2);
    assert.equal(text.split(`location = "${authPathFor('default/one-b')}" {`).length, 2);
    assert.equal(
      text.split('map $http_userid $ingress_templater_auth_userid {').length,
      2,
      'one variable per header name',
    );
  });

  it('an auth-url host that does not resolve denies the Ingress (not the whole config); unknown resolution denies nothing', async () => {
    const res = [...web, ing(ext({ [AUTH_URL]: 'http://auth.invalid/verify' })), ing({}, 'open', 'b.example.com')];
    const unknown = build(res);
    assert.equal(locations(unknown.model)[0]!.denied, null);
    assert.ok(unknown.externalNames.includes('auth.invalid'), 'the controller is asked to resolve it');
    const failed = build(res, { resolved: new Map([['auth.invalid', []]]) });
    assert.match(locations(failed.model)[0]!.denied!, /does not resolve/);
    assert.equal(locations(failed.model, 'b.example.com')[0]!.denied, null);
    const err = failed.problems.find((p) => p.severity === 'error')!;
    assert.equal(err.object, 'Ingress default/site');
    assert.match(err.message, /auth\.invalid .*does not resolve; the Ingress's paths answer 503/);
    const ok = build(res, { resolved: new Map([['auth.invalid', ['10.0.0.7']]]) });
    assert.equal(locations(ok.model)[0]!.denied, null);
    // nginx would refuse a proxy_pass to the name: the denied Ingress has no internal location
    assert.doesNotMatch(renderText(failed.model), /auth\.invalid/);
    await nginxAccepts(failed.model);
  });

  it('with custom-http-errors in effect the location has one error_page 500 (theirs); without a default backend, none (the balancer answers 503)', () => {
    const errs = [service({ name: 'errs' }), endpoints({ name: 'errs', subsets: [{ ready: ['10.0.0.3'] }] })];
    const signin = { [AUTH_SIGNIN]: 'https://login.example.com/' };
    const withPages = renderText(
      build([
        ...web,
        ...errs,
        ing(
          ext({
            ...signin,
            'nginx.ingress.kubernetes.io/default-backend': 'errs',
            'nginx.ingress.kubernetes.io/custom-http-errors': '404',
          }),
        ),
      ]).model,
      'lua',
    );
    const loc = locationBlock(withPages, 'a.example.com', '/');
    assert.equal(loc.split('error_page 500').length, 2, loc);
    assert.match(loc, /error_page 500 = @custom_default_site_unavailable;/);
    assert.match(loc, /set \$ingress_templater_unavailable "";/, 'the balancer fails with 500 for that error_page');
    // custom-http-errors without any default backend intercepts its codes (the pages answer 404, as
    // ingress-nginx's built-in default backend), but the balancer's own 503 (through the internal server)
    // needs no error_page
    const without = build([...web, ing(ext({ ...signin, 'nginx.ingress.kubernetes.io/custom-http-errors': '404' }))]);
    const plain = locationBlock(renderText(without.model, 'lua'), 'a.example.com', '/');
    assert.doesNotMatch(plain, /error_page 500|ingress_templater_unavailable/);
    assert.match(plain, /error_page 404 = @custom_default_site_404;/);
  });

  it('the addresses of an auth-url host are part of the config, so a DNS change reloads nginx (which resolves at load)', () => {
    const res = [...web, ing(ext({ [AUTH_URL]: 'http://auth.svc.local/verify' }))];
    const one = renderText(build(res, { resolved: new Map([['auth.svc.local', ['10.0.0.8']]]) }).model);
    const two = renderText(build(res, { resolved: new Map([['auth.svc.local', ['10.0.0.9']]]) }).model);
    assert.match(one, /# auth-url host addresses: 10\.0\.0\.8\n/);
    assert.notEqual(one, two);
    assert.match(renderText(build([...web, ing(ext())]).model), /# auth-url host addresses: 10\.0\.0\.9\n/);
  });

  it('renders auth_request, auth_request_set, the sign-in redirect and the internal location; nginx accepts it in both modes', async () => {
    const { model } = build(
      [
        ...web,
        ing(
          ext({
            [AUTH_URL]: 'https://localhost:8443/check?app=1',
            [AUTH_METHOD]: 'POST',
            [AUTH_RESPONSE_HEADERS]: 'X-User',
            [AUTH_SIGNIN]: 'https://$host/start',
          }),
        ),
        ing({}, 'open', 'b.example.com'),
      ],
      { resolved: new Map([['localhost', ['127.0.0.1']]]) },
    );
    const lua = renderText(model, 'lua');
    const loc = locationBlock(lua, 'a.example.com', '/');
    const authPath = authPathFor('default/site');
    assert.match(loc, new RegExp(`auth_request "${authPath}";`));
    assert.match(loc, /auth_request_set \$ingress_templater_auth_x_user \$upstream_http_x_user;/);
    assert.match(
      loc,
      /set_by_lua_block \$ingress_templater_escaped_request_uri \{ return ngx\.escape_uri\(ngx\.var\.request_uri\) \}/,
    );
    assert.match(loc, /error_page 401 = \$ingress_templater_signin;/);
    assert.doesNotMatch(
      loc,
      /error_page 500/,
      'a backend without endpoints gets 503 from the internal server, whatever error_page the location has',
    );
    assert.doesNotMatch(loc, /proxy_set_header/);
    const internal = lua.slice(lua.indexOf(`location = "${authPath}" {`));
    assert.match(
      internal,
      /internal;\n\s+proxy_pass_request_body off;\n\s+proxy_method POST;\n\s+proxy_set_header Host "localhost:8443";/,
    );
    assert.match(internal, /proxy_set_header Content-Length "";/);
    assert.match(internal, /proxy_pass "https:\/\/localhost:8443\/check\?app=1";/);
    assert.match(lua, /proxy_set_header X-User \$ingress_templater_auth_x_user;/);
    assert.doesNotMatch(locationBlock(lua, 'b.example.com', '/'), /auth_request/);
    // without ngx_lua the request URI cannot be escaped: it goes as it is
    assert.match(
      locationBlock(renderText(model, 'static'), 'a.example.com', '/'),
      /set \$ingress_templater_escaped_request_uri \$request_uri;/,
    );
    await nginxAccepts(model);
  });
});
