import type { AnnotationContext } from '../../../src/model/annotations/index.js';
import { DEFAULT_SETTINGS, hstsHeader, parseSettings } from '../../../src/model/settings.js';
import assert from 'node:assert/strict';
import { parseAnnotations } from '../../../src/model/annotations/index.js';
import { parseBool } from '../../../src/model/annotations/values.js';
import {
  FORCE_SSL_REDIRECT,
  parseSslRedirects,
  PRESERVE_TRAILING_SLASH,
  SSL_REDIRECT,
  sslRedirect,
  USE_PORT_IN_REDIRECTS,
} from '../../../src/model/annotations/ssl.js';
import type { Problem } from '../../../src/resources.js';
import {
  assertAnnotationError,
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  ingress,
  makeCert,
  path,
  rule,
  secret,
  service,
  show,
} from '../../helpers/resources.js';
import { cleanupPki, locationBlock, nginxTest, render, serverHead } from './tls-fixtures.js';

const withAnnotations = (annotations: Record<string, string>) =>
  ingress({ name: 'web', namespace: 'shop', annotations });

const ctx = (sslRedirect: boolean): AnnotationContext => ({
  settings: { ...DEFAULT_SETTINGS, sslRedirect },
  secret: () => undefined,
  configMap: () => undefined,
  file: (name) => name,
});

const app = [service({ name: 'web' }), endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] })];

describe('ssl-redirect and force-ssl-redirect annotations', () => {
  after(cleanupPki);

  it('ssl-redirect keeps the default when absent', () => {
    assert.equal(sslRedirect(withAnnotations({}), true), true);
    assert.equal(sslRedirect(withAnnotations({}), false), false);
  });

  it('ssl-redirect reads "true" and "false" whatever the default', () => {
    assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: 'false' }), true), false);
    assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: 'true' }), false), true);
    assert.equal(sslRedirect(withAnnotations({ [SSL_REDIRECT]: ' false ' }), true), false);
  });

  for (const key of [SSL_REDIRECT, FORCE_SSL_REDIRECT]) {
    for (const value of ['yes', 'no', 'True', 'FALSE', '1', '0', '', 'on', 'true;']) {
      it(`${key.split('/')[1]}: refuses ${JSON.stringify(value)} with an error naming the Ingress, the annotation and the value`, () => {
        const problems: Problem[] = [];
        assert.equal(parseSslRedirects(withAnnotations({ [key]: value }), ctx(true), problems), undefined);
        const problem = assertAnnotationError(problems, 'Ingress shop/web', key, value);
        assert.match(problem.message, /"true" or "false"/);
        // an invalid ssl-redirect keeps the default for the flag itself
        if (key === SSL_REDIRECT) assert.equal(sslRedirect(withAnnotations({ [key]: value }), false), false);
      });
    }
  }

  it('force-ssl-redirect "true" gives location config, "false" and absence none', () => {
    const problems: Problem[] = [];
    assert.deepEqual(parseSslRedirects(withAnnotations({ [FORCE_SSL_REDIRECT]: 'true' }), ctx(true), problems), {
      force: true,
      preserveTrailingSlash: false,
      usePortInRedirects: false,
      portDirective: false,
    });
    assert.equal(parseSslRedirects(withAnnotations({ [FORCE_SSL_REDIRECT]: 'false' }), ctx(true), problems), undefined);
    assert.equal(parseSslRedirects(withAnnotations({}), ctx(true), problems), undefined);
    assert.deepEqual(problems, []);
  });

  it('preserve-trailing-slash and use-port-in-redirects: config when they differ from the ConfigMap', () => {
    const problems: Problem[] = [];
    const parse = (annotations: Record<string, string>, settings: Partial<typeof DEFAULT_SETTINGS> = {}) =>
      parseSslRedirects(
        withAnnotations(annotations),
        { ...ctx(true), settings: { ...DEFAULT_SETTINGS, ...settings } },
        problems,
      );
    assert.deepEqual(parse({ [PRESERVE_TRAILING_SLASH]: 'true' }), {
      force: false,
      preserveTrailingSlash: true,
      usePortInRedirects: false,
      portDirective: false,
    });
    assert.equal(parse({ [PRESERVE_TRAILING_SLASH]: 'false' }), undefined);
    assert.equal(parse({ [PRESERVE_TRAILING_SLASH]: 'true' }, { preserveTrailingSlash: true }), undefined);
    assert.deepEqual(parse({ [PRESERVE_TRAILING_SLASH]: 'false' }, { preserveTrailingSlash: true }), {
      force: false,
      preserveTrailingSlash: false,
      usePortInRedirects: false,
      portDirective: false,
    });
    assert.deepEqual(parse({ [USE_PORT_IN_REDIRECTS]: 'true' }), {
      force: false,
      preserveTrailingSlash: false,
      usePortInRedirects: true,
      portDirective: true,
    });
    assert.equal(parse({ [USE_PORT_IN_REDIRECTS]: 'true' }, { usePortInRedirects: true }), undefined);
    assert.deepEqual(problems, []);
    // ingress-nginx kept the default for an invalid value of either: a warning, the paths are served
    for (const key of [PRESERVE_TRAILING_SLASH, USE_PORT_IN_REDIRECTS]) {
      const own: Problem[] = [];
      const ann = parseAnnotations(withAnnotations({ [key]: 'yes' }), ctx(true), own);
      assert.equal(ann.denied, null, key);
      assert.equal(ann.location['force-ssl-redirect'], undefined, key);
      assert.deepEqual(
        own.map((p) => [p.severity, p.field]),
        [['warning', `metadata.annotations["${key}"]`]],
      );
      assert.match(own[0]!.message, /invalid value "yes": expected "true" or "false"; using false/);
    }
  });

  it('parseBool is strict apart from surrounding whitespace', () => {
    assert.equal(parseBool('true'), true);
    assert.equal(parseBool('\tfalse\n'), false);
    assert.equal(parseBool('tru'), undefined);
  });

  describe('parseAnnotations', () => {
    it('returns the ssl-redirect value with the default from settings', () => {
      const problems: Problem[] = [];
      assert.equal(parseAnnotations(withAnnotations({}), ctx(false), problems).sslRedirect, false);
      assert.equal(
        parseAnnotations(withAnnotations({ [SSL_REDIRECT]: 'true' }), ctx(false), problems).sslRedirect,
        true,
      );
      assert.equal(
        parseAnnotations(withAnnotations({ [SSL_REDIRECT]: 'false' }), ctx(true), problems).sslRedirect,
        false,
      );
      assert.deepEqual(problems, []);
    });

    it('an invalid ssl-redirect or force-ssl-redirect is reported once and ignored (its default), as ingress-nginx', () => {
      for (const key of [SSL_REDIRECT, FORCE_SSL_REDIRECT]) {
        const problems: Problem[] = [];
        const ann = parseAnnotations(withAnnotations({ [key]: 'yes' }), ctx(true), problems);
        assert.equal(problems.length, 1, show(problems));
        assert.equal(problems[0]!.severity, 'warning', key);
        assert.equal(ann.denied, null, key);
      }
    });

    it('warns about unsupported nginx.ingress.kubernetes.io annotations and ignores other prefixes', () => {
      const problems: Problem[] = [];
      parseAnnotations(
        withAnnotations({
          'nginx.ingress.kubernetes.io/no-such-annotation': '/',
          'kubernetes.io/ingress.class': 'nginx',
          'example.com/owner': 'me',
        }),
        ctx(true),
        problems,
      );
      assert.deepEqual(
        problems.map((p) => [p.severity, p.field]),
        [['warning', 'metadata.annotations["nginx.ingress.kubernetes.io/no-such-annotation"]']],
      );
      assert.match(problems[0]!.message, /not supported/);
    });
  });

  describe('rendered', () => {
    const serverText = (text: string, host: string) =>
      text.slice(text.indexOf(`## start server ${host}\n`), text.indexOf(`## end server ${host}\n`));
    // every location of the host redirects: its server listens for HTTPS only, and the one server for
    // plain HTTP to such hosts answers 308
    const SHARED =
      /\n {4}server \{\n {8}listen 127\.0\.0\.1:8080;\n(?: {8}server_name \S+;\n)*? {8}server_name f\.example\.com;\n(?: {8}server_name \S+;\n)* {8}return 308 https:\/\/\$host\$ingress_templater_redirect_uri;\n/;
    const redirectedElsewhere = (text: string) => {
      assert.match(text, SHARED);
      assert.doesNotMatch(serverText(text, 'f.example.com'), /listen 127\.0\.0\.1:8080|return 308/);
    };
    const REDIRECT = /if \(\$scheme = http\) \{ return 308 https:\/\/\$host\$ingress_templater_redirect_uri; \}/;
    const forced = (value: string, tls = false) =>
      build([
        ...app,
        ingress({
          name: 'f',
          annotations: { [FORCE_SSL_REDIRECT]: value },
          ...(tls ? { tls: [{ hosts: ['f.example.com'] }] } : {}),
          rules: [rule('f.example.com', path('/', 'web'))],
        }),
      ]);

    it('force-ssl-redirect redirects a host without a TLS section with 308; without it there is no redirect', () => {
      const on = forced('true');
      assert.equal(on.problems.length, 0, show(on.problems));
      redirectedElsewhere(render(on.model));
      const off = render(forced('false').model);
      assert.doesNotMatch(off, /return 308|308 https/);
      assert.match(serverText(off, 'f.example.com'), /listen 127\.0\.0\.1:8080;/);
    });

    it('force-ssl-redirect on one Ingress of a host redirects its own locations only', () => {
      const result = build([
        ...app,
        ingress({
          name: 'f',
          annotations: { [FORCE_SSL_REDIRECT]: 'true' },
          rules: [rule('f.example.com', path('/', 'web'))],
        }),
        ingress({ name: 'g', rules: [rule('f.example.com', path('/open', 'web'))] }),
      ]);
      const text = render(result.model);
      assert.doesNotMatch(serverHead(text, 'f.example.com'), REDIRECT);
      assert.match(locationBlock(text, 'f.example.com', 'location "/"'), REDIRECT);
      assert.doesNotMatch(locationBlock(text, 'f.example.com', 'location "/open/"'), REDIRECT);
    });

    it('force-ssl-redirect wins over ssl-redirect "false" on a TLS host', () => {
      const result = build([
        ...app,
        ingress({
          name: 'f',
          annotations: { [FORCE_SSL_REDIRECT]: 'true', [SSL_REDIRECT]: 'false' },
          tls: [{ hosts: ['f.example.com'] }],
          rules: [rule('f.example.com', path('/', 'web'))],
        }),
      ]);
      redirectedElsewhere(render(result.model));
    });

    it('an invalid force-ssl-redirect is ignored with a warning (no redirect) and nothing of the value reaches nginx.conf', () => {
      const result = forced('yes; add_header X-Injected 1');
      assert.deepEqual(
        result.problems.map((p) => p.severity),
        ['warning'],
        show(result.problems),
      );
      const block = locationBlock(render(result.model), 'f.example.com', 'location "/"');
      assert.doesNotMatch(block, /return 503;/);
      assert.match(block, /proxy_pass/);
      assert.doesNotMatch(render(result.model), /X-Injected/);
    });

    describe('the ConfigMap keys of the redirect', () => {
      const withSettings = (data: Record<string, string>, annotations: Record<string, string> = {}) =>
        build(
          [
            ...app,
            configMap(data),
            ingress({
              name: 'f',
              annotations: {
                [FORCE_SSL_REDIRECT]: 'true',
                'nginx.ingress.kubernetes.io/from-to-www-redirect': 'true',
                ...annotations,
              },
              rules: [rule('f.example.com', path('/', 'web'))],
            }),
          ],
          CONFIG_MAP_OPTION,
        );

      it('defaults: port_in_redirect off, absolute redirects, 308, $scheme and $host', () => {
        const text = render(withSettings({}).model);
        assert.match(text, /\n {4}port_in_redirect off;\n/);
        assert.doesNotMatch(text, /absolute_redirect|ingress_templater_client_scheme|ingress_templater_redirect_host/);
        assert.match(
          text,
          /return 308 \$scheme:\/\/f\.example\.com:\$ingress_templater_www_port\$ingress_templater_redirect_uri;/,
        );
      });

      it('use-forwarded-headers: the scheme and host of the proxy in front; plain HTTP reaches the server itself', () => {
        const result = withSettings({
          'use-forwarded-headers': 'true',
          'http-redirect-code': '302',
          'use-port-in-redirects': 'true',
          'relative-redirects': 'true',
        });
        assert.equal(result.problems.length, 0, show(result.problems));
        const text = render(result.model);
        assert.match(text, /\n {4}port_in_redirect on;\n {4}absolute_redirect off;\n/);
        assert.match(text, /map \$http_x_forwarded_proto \$ingress_templater_client_scheme \{/);
        assert.match(
          serverHead(text, 'f.example.com'),
          /if \(\$ingress_templater_client_scheme = http\) \{ return 302 https:\/\/\$ingress_templater_redirect_host:8443\$ingress_templater_redirect_uri; \}/,
        );
        assert.match(serverHead(text, 'f.example.com'), /listen 127\.0\.0\.1:8080;/);
        assert.doesNotMatch(text, /# Plain HTTP to the hosts/);
        assert.match(
          text,
          /return 302 \$ingress_templater_client_scheme:\/\/f\.example\.com:\$ingress_templater_www_port/,
        );
      });

      it('an invalid http-redirect-code keeps 308, reported', () => {
        for (const code of ['303', '300', 'x']) {
          const result = withSettings({ 'http-redirect-code': code });
          assert.match(
            show(result.problems),
            /data\.http-redirect-code.*expected 301, 302, 307 or 308; ignored, its default applies/,
          );
          assert.match(render(result.model), /return 308 https:/);
        }
      });

      it('nginx -t accepts every map and directive of them', function () {
        this.timeout(20_000);
        const data = { 'use-forwarded-headers': 'true', 'use-port-in-redirects': 'true', 'relative-redirects': 'true' };
        assert.equal(nginxTest(withSettings(data, { [PRESERVE_TRAILING_SLASH]: 'true' }).model), null);
        assert.equal(nginxTest(withSettings({}, { [USE_PORT_IN_REDIRECTS]: 'true' }).model), null);
      });
    });

    it('nginx -t accepts a forced redirect', function () {
      this.timeout(20_000);
      assert.equal(nginxTest(forced('true').model), null);
    });
  });
});

describe('HSTS (ConfigMap hsts, hsts-max-age, hsts-include-subdomains, hsts-preload)', () => {
  it('has the defaults of ingress-nginx', () => {
    assert.equal(DEFAULT_SETTINGS.hsts, true);
    assert.equal(DEFAULT_SETTINGS.hstsMaxAge, 31536000);
    assert.equal(DEFAULT_SETTINGS.hstsIncludeSubdomains, true);
    assert.equal(DEFAULT_SETTINGS.hstsPreload, false);
    assert.equal(hstsHeader(DEFAULT_SETTINGS), 'max-age=31536000; includeSubDomains');
  });

  it('builds the header value from the settings; hsts "false" means none', () => {
    const settingsOf = (data: Record<string, string>) => parseSettings(configMap(data)).settings;
    assert.equal(hstsHeader(settingsOf({ 'hsts-max-age': '600', 'hsts-include-subdomains': 'false' })), 'max-age=600');
    assert.equal(hstsHeader(settingsOf({ 'hsts-preload': 'true' })), 'max-age=31536000; includeSubDomains; preload');
    assert.equal(hstsHeader(settingsOf({ 'hsts-max-age': '0' })), 'max-age=0; includeSubDomains');
    assert.equal(hstsHeader(settingsOf({ hsts: 'false' })), null);
  });

  for (const [key, value] of [
    ['hsts', 'yes'],
    ['hsts-max-age', '-1'],
    ['hsts-max-age', '1d'],
    ['hsts-max-age', '1; preload'],
    ['hsts-preload', 'on'],
    ['hsts-include-subdomains', ''],
  ]) {
    it(`reports ConfigMap ${key}: ${JSON.stringify(value)} and keeps the default`, () => {
      const { settings, problems } = parseSettings(configMap({ [key]: value! }));
      assert.equal(problems.length, 1, show(problems));
      assert.equal(problems[0]!.severity, 'warning');
      assert.equal(problems[0]!.field, `data.${key}`);
      assert.equal(hstsHeader(settings), 'max-age=31536000; includeSubDomains');
    });
  }

  const model = (data?: Record<string, string>) =>
    build(
      [
        ...app,
        ...(data ? [configMap(data)] : []),
        secret({ name: 'cafe', cert: makeCert(['cafe.example.com']) }),
        ingress({
          name: 'cafe',
          tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
          rules: [rule('cafe.example.com', path('/', 'web'))],
        }),
        ingress({ name: 'plain', rules: [rule('plain.example.com', path('/', 'web'))] }),
      ],
      data ? CONFIG_MAP_OPTION : {},
    ).model;

  it('renders the value once in http (empty on plain HTTP) and add_header in TLS servers (and their locations that add headers) only', () => {
    const text = render(model());
    assert.match(
      text,
      /map \$https \$ingress_templater_hsts \{\n\s+on "max-age=31536000; includeSubDomains";\n\s+default "";\n\s+\}/,
    );
    assert.match(
      serverHead(text, 'cafe.example.com'),
      /add_header Strict-Transport-Security \$ingress_templater_hsts always;/,
    );
    // a location without add_header of its own inherits the server's
    assert.doesNotMatch(locationBlock(text, 'cafe.example.com', 'location "/"'), /add_header/);
    // one with its own (CORS here) would drop it: repeated there
    const cors = render(
      build([
        ...app,
        secret({ name: 'cafe', cert: makeCert(['cafe.example.com']) }),
        ingress({
          name: 'cafe',
          annotations: { 'nginx.ingress.kubernetes.io/enable-cors': 'true' },
          tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
          rules: [rule('cafe.example.com', path('/', 'web'))],
        }),
      ]).model,
    );
    assert.match(
      locationBlock(cors, 'cafe.example.com', 'location "/"'),
      /add_header Strict-Transport-Security \$ingress_templater_hsts always;[\s\S]*add_header Access-Control-Allow-Origin/,
    );
    assert.doesNotMatch(
      text.slice(text.indexOf('## start server plain.example.com'), text.indexOf('## end server plain.example.com')),
      /Strict-Transport-Security/,
    );
    assert.doesNotMatch(
      text.slice(text.indexOf('## start server _'), text.indexOf('## end server _')),
      /Strict-Transport-Security/,
    );
  });

  it('follows the ConfigMap, and hsts "false" renders nothing', () => {
    assert.match(
      render(model({ 'hsts-max-age': '600', 'hsts-preload': 'true', 'hsts-include-subdomains': 'false' })),
      /on "max-age=600; preload";/,
    );
    assert.doesNotMatch(render(model({ hsts: 'false' })), /Strict-Transport-Security|ingress_templater_hsts/);
  });

  it('nginx -t accepts it', function () {
    this.timeout(20_000);
    assert.equal(nginxTest(model()), null);
  });
});
