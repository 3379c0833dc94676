import assert from 'node:assert/strict';
import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { SUPPORTED } from '../../../src/model/annotations/index.js';
import {
  FROM_TO_WWW,
  isRedirectPath,
  isRedirectURL,
  PERMANENT_REDIRECT,
  PERMANENT_REDIRECT_CODE,
  REDIRECT_KEYS,
  RELATIVE_REDIRECTS,
  redirectFamily,
  TEMPORAL_REDIRECT,
  TEMPORAL_REDIRECT_CODE,
  wwwAlias,
} from '../../../src/model/annotations/redirect.js';
import type { Model, Server } from '../../../src/model/index.js';
import { DEFAULT_SETTINGS } from '../../../src/model/settings.js';
import type { Problem, Resource } from '../../../src/resources.js';
import { build, endpoints, ingress, makeCert, path, rule, secret, service, show } from '../../helpers/resources.js';
import { nginxAccepts, renderText } from './nginx-check.js';

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
  const location = redirectFamily.location!(ing(annotations), ctx, problems);
  const server = redirectFamily.server!(ing(annotations), ctx, []);
  return { location, server, problems };
};

const app: Resource[] = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];
const server = (m: Model, host: string): Server | undefined => m.servers.find((x) => x.host === host);

function serverBlock(text: string, host: string): string {
  const start = text.indexOf(`## start server ${host}\n`);
  const end = text.indexOf(`## end server ${host}\n`);
  assert.ok(start >= 0 && end > start, `no server block for ${host}`);
  return text.slice(start, end);
}

function block(text: string, head: string): string {
  const index = text.indexOf(`location ${head}`);
  assert.ok(index >= 0, `no location ${head} in:\n${text}`);
  return text.slice(index, text.indexOf('\n        }\n', index));
}

describe('model/annotations/redirect', () => {
  it('every key is a supported annotation', () => {
    for (const key of REDIRECT_KEYS) assert.ok(SUPPORTED.has(key), key);
    assert.equal(REDIRECT_KEYS.length, 6);
  });

  describe('values', () => {
    it('sets nothing without its annotations', () => {
      assert.deepEqual(parse({}), { location: undefined, server: undefined, problems: [] });
      assert.deepEqual(parse({ [FROM_TO_WWW]: 'false' }), { location: undefined, server: undefined, problems: [] });
    });

    it('permanent-redirect: 301 by default, permanent-redirect-code 300-308', () => {
      assert.deepEqual(parse({ [PERMANENT_REDIRECT]: 'https://www.example.org/new?x=1#top' }).location, {
        target: { url: 'https://www.example.org/new?x=1#top', code: 301, addLocation: false },
        relative: false,
      });
      assert.deepEqual(
        parse({ [PERMANENT_REDIRECT]: 'http://example.org', [PERMANENT_REDIRECT_CODE]: '308' }).location?.target,
        { url: 'http://example.org', code: 308, addLocation: false },
      );
      // nginx's "return CODE URL" sets Location only for 301, 302, 303, 307 and 308
      assert.deepEqual(
        parse({ [PERMANENT_REDIRECT]: 'http://example.org', [PERMANENT_REDIRECT_CODE]: '300' }).location?.target,
        { url: 'http://example.org', code: 300, addLocation: true },
      );
      // a path, as ingress-nginx's relative-redirects e2e test writes it
      assert.deepEqual(parse({ [PERMANENT_REDIRECT]: '/new-location' }), {
        location: { target: { url: '/new-location', code: 301, addLocation: false }, relative: false },
        server: undefined,
        problems: [],
      });
    });

    it('temporal-redirect: 302 by default, temporal-redirect-code 300-307, and it wins over permanent-redirect', () => {
      assert.deepEqual(parse({ [TEMPORAL_REDIRECT]: 'https://example.org/t' }).location?.target, {
        url: 'https://example.org/t',
        code: 302,
        addLocation: false,
      });
      assert.deepEqual(
        parse({ [TEMPORAL_REDIRECT]: 'https://example.org/t', [TEMPORAL_REDIRECT_CODE]: '307' }).location?.target,
        { url: 'https://example.org/t', code: 307, addLocation: false },
      );
      const both = parse({
        [TEMPORAL_REDIRECT]: 'https://example.org/t',
        [PERMANENT_REDIRECT]: 'https://example.org/p',
      });
      assert.deepEqual(both.location?.target, { url: 'https://example.org/t', code: 302, addLocation: false });
      assert.equal(both.problems.length, 1);
      assert.equal(both.problems[0]!.severity, 'warning');
      assert.match(both.problems[0]!.message, /temporal-redirect is set too and takes precedence/);
    });

    it('a code out of range: the default, with a warning, as ingress-nginx', () => {
      for (const [key, value, code] of [
        [PERMANENT_REDIRECT_CODE, '999', 301],
        [PERMANENT_REDIRECT_CODE, '200', 301],
        [PERMANENT_REDIRECT_CODE, '309', 301],
        [PERMANENT_REDIRECT_CODE, '3010', 301],
        [TEMPORAL_REDIRECT_CODE, '308', 302],
        [TEMPORAL_REDIRECT_CODE, '418', 302],
      ] as const) {
        const url = 'https://example.org';
        const target = key === PERMANENT_REDIRECT_CODE ? PERMANENT_REDIRECT : TEMPORAL_REDIRECT;
        const { location, problems } = parse({ [target]: url, [key]: value });
        assert.deepEqual(location?.target, { url, code, addLocation: false }, `${key}=${value}`);
        assert.equal(problems.length, 1, `${key}=${value}: ${show(problems)}`);
        assert.equal(problems[0]!.severity, 'warning');
        assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
        assert.match(problems[0]!.message, new RegExp(`^${value} is not a redirect status code.*using ${code}`));
      }
    });

    it('refuses codes that are not numbers, naming the annotation and the value', () => {
      for (const [key, value] of [
        [PERMANENT_REDIRECT_CODE, '301;'],
        [PERMANENT_REDIRECT_CODE, 'abc'],
        [PERMANENT_REDIRECT_CODE, '-301'],
        [TEMPORAL_REDIRECT_CODE, ''],
      ] as const) {
        const { problems } = parse({ [PERMANENT_REDIRECT]: 'https://example.org', [key]: value });
        assert.equal(problems.length, 1, `${key}=${value}: ${show(problems)}`);
        assert.equal(problems[0]!.severity, 'error');
        assert.equal(problems[0]!.object, 'Ingress shop/web');
        assert.equal(problems[0]!.field, `metadata.annotations["${key}"]`);
        assert.ok(problems[0]!.message.includes(JSON.stringify(value)), problems[0]!.message);
      }
    });

    it('URLs: absolute http(s) only, literal (no variables), nothing that could leave the quoted string', () => {
      for (const value of [
        'https://example.org',
        'http://example.org:8080/a/b?c=d&e=f#g',
        'https://[::1]/x',
        'https://user@example.org/%20x',
        'HTTPS://EXAMPLE.ORG/',
      ])
        assert.ok(isRedirectURL(value), value);
      for (const raw of [
        'ftp://example.org',
        '//example.org',
        '/relative"',
        '/$uri',
        'example.org',
        'https://',
        'https:///x',
        'https://example.org/$request_uri',
        'https://example.org/a b',
        'https://example.org/"',
        "https://example.org/'",
        'https://example.org/;\nreturn 200',
        'https://example.org/{x}',
        'https://example.org/a\\b',
        'javascript:alert(1)',
        'https://exa mple.org',
        'https://example.org/\u00e9',
        `https://example.org/${'a'.repeat(2048)}`,
        '',
      ]) {
        assert.equal(isRedirectURL(raw), false, JSON.stringify(raw));
        const { location, problems } = parse({ [PERMANENT_REDIRECT]: raw });
        assert.equal(location, undefined, raw);
        assert.equal(problems.length, 1, raw);
        assert.equal(problems[0]!.field, `metadata.annotations["${PERMANENT_REDIRECT}"]`);
      }
    });

    it('paths: permanent-redirect takes "/..." (not "//", which is another host); temporal-redirect ignores one', () => {
      for (const value of ['/', '/new-location', '/a/b?c=d&e=f#g', '/%20x'])
        assert.ok(isRedirectPath(value) && !isRedirectURL(value), value);
      for (const value of ['//example.org/x', 'new-location', '/a b', '/a"b', '/$request_uri', '/{x}', '/a\\b'])
        assert.equal(isRedirectPath(value), false, value);
      // ingress-nginx checked temporal-redirect's scheme: it ignored "/x" (logged) and proxied the paths
      const temporal = parse({ [TEMPORAL_REDIRECT]: '/maintenance' });
      assert.equal(temporal.location, undefined);
      assert.deepEqual(
        temporal.problems.map((p) => [p.severity, p.field]),
        [['warning', `metadata.annotations["${TEMPORAL_REDIRECT}"]`]],
      );
      assert.match(temporal.problems[0]!.message, /ignored: "\/maintenance" has no http:\/\/ or https:\/\/ scheme/);
    });

    it('relative-redirects: "true" gives the locations absolute_redirect off, with or without a target', () => {
      assert.deepEqual(parse({ [RELATIVE_REDIRECTS]: 'true' }).location, { relative: true });
      assert.equal(parse({ [RELATIVE_REDIRECTS]: 'false' }).location, undefined);
      assert.deepEqual(parse({ [RELATIVE_REDIRECTS]: 'true', [PERMANENT_REDIRECT]: '/x' }).location, {
        target: { url: '/x', code: 301, addLocation: false },
        relative: true,
      });
      const bad = parse({ [RELATIVE_REDIRECTS]: 'yes' });
      assert.deepEqual(
        bad.problems.map((p) => [p.severity, p.field]),
        [['error', `metadata.annotations["${RELATIVE_REDIRECTS}"]`]],
      );
    });

    it('from-to-www-redirect: "true" or "false"; anything else is an error of the location', () => {
      assert.deepEqual(parse({ [FROM_TO_WWW]: 'true' }), {
        location: undefined,
        server: { fromToWww: true, ingress: 'shop/web' },
        problems: [],
      });
      const { server: srv, problems } = parse({ [FROM_TO_WWW]: 'yes' });
      assert.equal(srv, undefined);
      assert.equal(problems.length, 1);
      assert.equal(problems[0]!.field, `metadata.annotations["${FROM_TO_WWW}"]`);
    });

    it('wwwAlias: www.HOST for HOST and HOST for www.HOST; none for the catch-all, wildcards or a bare TLD', () => {
      assert.equal(wwwAlias('example.com'), 'www.example.com');
      assert.equal(wwwAlias('www.example.com'), 'example.com');
      assert.equal(wwwAlias('a.b.example.com'), 'www.a.b.example.com');
      assert.equal(wwwAlias(''), null);
      assert.equal(wwwAlias('*.example.com'), null);
      assert.equal(wwwAlias('www.com'), null);
      assert.equal(wwwAlias('localhost'), 'www.localhost');
    });
  });

  describe('model and rendering', () => {
    it('every location of the Ingress returns the redirect; other Ingresses are not affected', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'moved',
          annotations: { [PERMANENT_REDIRECT]: 'https://example.org/new', [PERMANENT_REDIRECT_CODE]: '308' },
          rules: [rule('a.example.com', path('/old', 'web'), path('/older', 'nowhere'))],
        }),
        ingress({
          name: 'tmp',
          annotations: { [TEMPORAL_REDIRECT]: 'https://example.org/maintenance' },
          rules: [rule('a.example.com', path('/tmp', 'web'))],
        }),
        ingress({
          name: 'odd',
          annotations: { [PERMANENT_REDIRECT]: 'https://example.org/choose', [PERMANENT_REDIRECT_CODE]: '300' },
          rules: [rule('a.example.com', path('/odd', 'web'))],
        }),
        ingress({ name: 'plain', rules: [rule('a.example.com', path('/plain', 'web'))] }),
      ]);
      assert.equal(problems.filter((p) => p.severity === 'error').length, 0, show(problems));
      const text = renderText(model);
      assert.match(block(text, '= "/old"'), /return 308 "https:\/\/example\.org\/new";/);
      assert.match(block(text, '"/old/"'), /return 308 "https:\/\/example\.org\/new";/);
      // a redirect needs no backend: the missing Service does not matter
      assert.match(block(text, '"/older/"'), /return 308 "https:\/\/example\.org\/new";/);
      assert.match(block(text, '"/tmp/"'), /return 302 "https:\/\/example\.org\/maintenance";/);
      assert.match(
        block(text, '"/odd/"'),
        /add_header Location "https:\/\/example\.org\/choose" always;\n\s+return 300;/,
      );
      assert.doesNotMatch(block(text, '"/plain/"'), /return 30/);
    });

    it('a path target is a quoted return; relative-redirects adds absolute_redirect off to its locations only', async function () {
      this.timeout(20_000);
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'moved',
          annotations: { [PERMANENT_REDIRECT]: '/new-location?x=1', [RELATIVE_REDIRECTS]: 'true' },
          rules: [rule('a.example.com', path('/old', 'web'))],
        }),
        ingress({
          name: 'absolute',
          annotations: { [PERMANENT_REDIRECT]: '/new-location' },
          rules: [rule('a.example.com', path('/abs', 'web'))],
        }),
      ]);
      assert.equal(problems.length, 0, show(problems));
      const text = renderText(model);
      assert.match(block(text, '"/old/"'), /absolute_redirect off;\n\s+return 301 "\/new-location\?x=1";/);
      assert.match(block(text, '"/abs/"'), /return 301 "\/new-location";/);
      assert.doesNotMatch(block(text, '"/abs/"'), /absolute_redirect/);
      await nginxAccepts(model);
    });

    it('an invalid value is ignored with a warning (as ingress-nginx): the path is proxied, nothing of it reaches nginx.conf', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'bad',
          annotations: {
            [PERMANENT_REDIRECT]: 'https://example.org/"; return 200 "x',
            [PERMANENT_REDIRECT_CODE]: 'x',
          },
          rules: [rule('a.example.com', path('/bad', 'web'))],
        }),
        ingress({ name: 'good', rules: [rule('a.example.com', path('/good', 'web'))] }),
      ]);
      assert.deepEqual(
        problems.map((p) => p.severity),
        ['warning', 'warning'],
        show(problems),
      );
      const text = renderText(model);
      assert.match(block(text, '"/bad/"'), /proxy_pass/);
      assert.doesNotMatch(serverBlock(text, 'a.example.com'), /return 200|example\.org|return 503/);
      assert.match(block(text, '"/good/"'), /proxy_pass/);
    });

    it("from-to-www-redirect: the other name joins the host's server and answers 308 to SCHEME://HOST:PORT and the URI", () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'apex',
          annotations: { [FROM_TO_WWW]: 'true' },
          rules: [rule('example.com', path('/', 'web'))],
        }),
        ingress({
          name: 'www',
          annotations: { [FROM_TO_WWW]: 'true' },
          rules: [rule('www.example.net', path('/', 'web'))],
        }),
      ]);
      assert.deepEqual(problems, [], show(problems));
      assert.deepEqual(server(model, 'example.com')!.ann.redirect, {
        fromToWww: true,
        ingress: 'default/apex',
        from: 'www.example.com',
        to: 'example.com',
      });
      assert.deepEqual(server(model, 'www.example.net')!.ann.redirect, {
        fromToWww: true,
        ingress: 'default/www',
        from: 'example.net',
        to: 'www.example.net',
      });
      const text = renderText(model);
      const apex = serverBlock(text, 'example.com');
      assert.match(apex, /\n\s+server_name www\.example\.com;\n/);
      assert.match(
        apex,
        /if \(\$host = www\.example\.com\) \{\n\s+return 308 \$scheme:\/\/example\.com:\$ingress_templater_www_port\$ingress_templater_redirect_uri;/,
      );
      // the port: the Host header's, else the scheme's (http-level maps, rendered only for this redirect)
      assert.match(text, /\n {4}map "\$scheme\|\$http_host" \$ingress_templater_www_port \{\n/);
      assert.match(
        serverBlock(text, 'www.example.net'),
        /if \(\$host = example\.net\) \{\n\s+return 308 \$scheme:\/\/www\.example\.net:\$ingress_templater_www_port\$ingress_templater_redirect_uri;/,
      );
    });

    it('from-to-www-redirect is skipped when an Ingress routes the other name itself, or for the catch-all and wildcards', () => {
      const { model, problems } = build([
        ...app,
        ingress({
          name: 'apex',
          annotations: { [FROM_TO_WWW]: 'true' },
          rules: [
            rule('example.com', path('/', 'web')),
            rule(undefined, path('/', 'web')),
            rule('*.example.org', path('/', 'web')),
          ],
        }),
        ingress({ name: 'www', rules: [rule('www.example.com', path('/', 'web'))] }),
      ]);
      for (const host of ['example.com', '', '*.example.org'])
        assert.equal(server(model, host)!.ann.redirect, undefined, host);
      assert.match(
        show(problems),
        /www\.example\.com is served by its own rules; it does not redirect to example\.com/,
      );
      assert.match(show(problems), /host \(any host\) has no www\/non-www counterpart/);
      assert.equal(problems.filter((p) => p.severity === 'error').length, 0);
      assert.doesNotMatch(renderText(model), /ingress_templater_www_port/);
    });

    it("with TLS, the alias uses the host's certificate; a warning when it does not name the alias", () => {
      const both = makeCert(['example.com', 'www.example.com']);
      const only = makeCert(['example.net']);
      const { model, problems } = build([
        ...app,
        secret({ name: 'both', cert: both }),
        secret({ name: 'only', cert: only }),
        ingress({
          name: 'a',
          annotations: { [FROM_TO_WWW]: 'true' },
          tls: [{ hosts: ['example.com'], secretName: 'both' }],
          rules: [rule('example.com', path('/', 'web'))],
        }),
        ingress({
          name: 'b',
          annotations: { [FROM_TO_WWW]: 'true' },
          tls: [{ hosts: ['example.net'], secretName: 'only' }],
          rules: [rule('example.net', path('/', 'web'))],
        }),
      ]);
      const warnings = problems.filter((p) => /does not name/.test(p.message));
      assert.equal(warnings.length, 1, show(problems));
      assert.match(warnings[0]!.message, /the certificate of example\.net does not name www\.example\.net/);
      assert.equal(warnings[0]!.object, 'Ingress default/b');
      const apex = serverBlock(renderText(model), 'example.com');
      assert.match(apex, /ssl_certificate "\/srv\/it\/ssl\/default_both-[0-9a-f]+\.pem";/);
      assert.match(apex, /server_name www\.example\.com;/);
    });

    it('nginx -t accepts redirects, odd codes and from-to-www servers', async function () {
      this.timeout(30_000);
      // (nginxAccepts writes only the default certificate: the TLS host uses it)
      const { model } = build([
        ...app,
        ingress({
          name: 'a',
          annotations: {
            [FROM_TO_WWW]: 'true',
            [PERMANENT_REDIRECT]: 'https://example.org/x?y=1',
            [PERMANENT_REDIRECT_CODE]: '305',
          },
          tls: [{ hosts: ['example.com'] }],
          rules: [rule('example.com', path('/', 'web'))],
        }),
        ingress({
          name: 'b',
          annotations: { [FROM_TO_WWW]: 'true', [TEMPORAL_REDIRECT]: 'http://example.org/' },
          rules: [rule('www.example.net', path('/t', 'web'))],
        }),
        ingress({
          name: 'c',
          annotations: { [PERMANENT_REDIRECT_CODE]: '1000' },
          rules: [rule('c.example.net', path('/', 'web'))],
        }),
      ]);
      await nginxAccepts(model);
    });
  });
});
