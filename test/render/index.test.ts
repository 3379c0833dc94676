import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import nodePath from 'node:path';
import type { Model } from '../../src/model/index.js';
import {
  certificateFile,
  checkTemplate,
  DEFAULT_TEMPLATE_DIR,
  HASH_PLACEHOLDER,
  loadTemplates,
  TemplateError,
} from '../../src/render/index.js';
import type { RenderOptions, Renderer } from '../../src/render/index.js';
import type { Resource } from '../../src/resources.js';
import { NGINX, nginxConfigTest, numberedLines, tempNginxPrefix } from '../helpers/nginx-configtest.js';
import {
  backend,
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  exact,
  ingress,
  makeCert,
  path,
  reorder,
  rule,
  secret,
  service,
  show,
  slice,
} from '../helpers/resources.js';
import type { TestCert } from '../helpers/resources.js';

function options(prefix: string): RenderOptions {
  return {
    prefix,
    listenAddress: '*',
    httpPort: 8080,
    httpsPort: 8443,
    internalPort: 10246,
    defaultCertificate: nodePath.join(prefix, 'ssl', 'default.pem'),
    features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
    version: '0.1.0',
    balancer: 'static',
    luaDir: '/srv/it/lua',
    luaModules: [],
  };
}

/** Several hosts, a wildcard, TLS (good, missing and wildcard Secrets), Exact/Prefix, 503 backends, a default backend. */
function richResources(config: { cafe: TestCert; star: TestCert }): Resource[] {
  return [
    configMap({ 'proxy-body-size': '8m', 'upstream-keepalive-connections': '16', 'proxy-read-timeout': '120' }),
    service({ name: 'tea', ports: [{ name: 'http', port: 80, targetPort: 'web' }] }),
    slice({
      name: 'tea-a',
      service: 'tea',
      endpoints: ['10.0.0.12', '10.0.0.11', { addresses: ['10.0.0.13'], ready: false }],
    }),
    slice({ name: 'tea-b', service: 'tea', endpoints: ['fd00::11'] }),
    service({ name: 'coffee', ports: [{ port: 80, targetPort: 8080 }] }),
    endpoints({
      name: 'coffee',
      subsets: [{ ready: ['10.0.0.21', '10.0.0.22'], notReady: ['10.0.0.29'], ports: [{ port: 8080 }] }],
    }),
    service({ name: 'empty' }),
    service({ name: 'default-http', ports: [{ name: 'http', port: 8081 }] }),
    endpoints({ name: 'default-http', subsets: [{ ready: ['10.0.0.99'], ports: [{ name: 'http', port: 8081 }] }] }),
    service({
      name: 'ext',
      type: 'ExternalName',
      externalName: 'api.example.net',
      ports: [{ name: 'https', port: 443 }],
    }),
    secret({ name: 'cafe-secret', cert: config.cafe }),
    secret({ name: 'star', cert: config.star }),
    ingress({
      name: 'cafe',
      created: '2024-01-01T00:00:00Z',
      defaultBackend: backend('default-http', 'http'),
      tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe-secret' }],
      rules: [
        rule(
          'cafe.example.com',
          path('/tea', 'tea'),
          path('/coffee/', 'coffee'),
          exact('/coffee', 'tea'),
          exact('/menu/', 'empty'),
        ),
      ],
    }),
    ingress({
      name: 'wild',
      created: '2024-01-02T00:00:00Z',
      tls: [{ hosts: ['*.example.com'], secretName: 'star' }],
      rules: [
        rule('*.example.com', path('/', 'coffee')),
        rule('tea.example.com', path('/', 'tea', 80, 'ImplementationSpecific')),
      ],
    }),
    // no rules: the catch-all for hosts no Ingress names (cafe's default backend covers only cafe's host)
    ingress({ name: 'catch-all', created: '2024-01-04T00:00:00Z', defaultBackend: backend('default-http', 'http') }),
    ingress({
      name: 'plain',
      namespace: 'default',
      created: '2024-01-03T00:00:00Z',
      rules: [
        rule('plain.example.org', exact('/only', 'empty'), path('/missing', 'nowhere'), path('/ext', 'ext', 'https')),
      ],
    }),
    ingress({
      name: 'secure',
      created: '2024-01-04T00:00:00Z',
      annotations: { 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' },
      tls: [{ hosts: ['secure.example.org'], secretName: 'not-there' }],
      rules: [rule('secure.example.org', path('/', 'coffee'))],
    }),
    ingress({
      name: 'any',
      created: '2024-01-05T00:00:00Z',
      rules: [rule(undefined, path('/healthz', 'tea'), exact('/status', 'coffee'))],
    }),
    ingress({
      name: 'late',
      created: '2024-02-01T00:00:00Z',
      rules: [rule('cafe.example.com', path('/tea/', 'coffee'))],
    }),
  ];
}

/** The lines of one server block, markers included. */
function serverBlock(text: string, host: string): string {
  const start = text.indexOf(`## start server ${host}\n`);
  const end = text.indexOf(`## end server ${host}\n`);
  assert.ok(start >= 0 && end > start, `no server block for ${host}`);
  return text.slice(start, end + `## end server ${host}\n`.length);
}

const locationLines = (block: string) =>
  block
    .split('\n')
    .filter((l) => /^\s*location /.test(l))
    .map((l) => l.trim());

describe('render', () => {
  let certs: { cafe: TestCert; star: TestCert; def: TestCert };
  let renderer: Renderer;
  let rich: { model: Model; text: string; hash: string };

  before(function () {
    this.timeout(30_000);
    certs = {
      cafe: makeCert(['cafe.example.com']),
      star: makeCert(['*.example.com']),
      def: makeCert(['ingress-templater.invalid']),
    };
    renderer = loadTemplates();
    const built = build(richResources(certs), {
      ...CONFIG_MAP_OPTION,
      resolved: new Map([['api.example.net', ['192.0.2.10']]]),
    });
    rich = { model: built.model, ...renderer.render(built.model, options('/srv/it')) };
  });

  describe('checkTemplate', () => {
    it('accepts the bundled templates', () => {
      const files = [
        'nginx.conf.hbs',
        ...fs.readdirSync(nodePath.join(DEFAULT_TEMPLATE_DIR, 'partials')).map((f) => `partials/${f}`),
      ];
      assert.ok(files.length >= 5);
      for (const file of files)
        assert.deepEqual(
          checkTemplate(file, fs.readFileSync(nodePath.join(DEFAULT_TEMPLATE_DIR, file), 'utf8')),
          [],
          file,
        );
    });

    it('accepts helpers, blocks, partials and comments', () => {
      const ok = [
        'listen {{addr a b}};',
        '{{num port}}',
        '{{~str x~}}',
        '{{configHash}}',
        '{{#if x}}a{{else}}b{{/if}}',
        '{{#each xs}}{{tok this}}{{/each}}',
        '{{#unless x}}{{/unless}}',
        '{{#with x}}{{/with}}',
        '{{#if a}}{{else if b}}{{/if}}',
        '{{> server}}',
        '{{! note }}',
        '{{!-- {{value}} --}}',
        '{{str (lookup this "x")}}',
        '{{#if @root.x}}{{num @root.y}}{{/if}}',
        'a { b; }',
      ];
      for (const trimmed of ok) assert.deepEqual(checkTemplate('t', trimmed), [], trimmed);
    });

    it('refuses bare values, triple-stash, unknown helpers and unknown block helpers', () => {
      const bad = [
        '{{value}}',
        '{{ value }}',
        '{{this}}',
        '{{{value}}}',
        '{{~{value}~}}',
        '{{&value}}',
        '{{str}}',
        '{{num}}',
        '{{lookup . "host"}}',
        '{{log x}}',
        '{{#foo x}}{{/foo}}',
        '{{#lookup x}}{{/lookup}}',
        '{{#if a}}{{else foo}}{{/if}}',
        '{{^foo}}{{/foo}}',
        '{{@index}}',
        '{{../host}}',
        '{{str "}"}}{{host}}',
        '{{lookup this "host" "}"}}',
        '{{*inline "x"}}',
        '{{#> layout}}{{/layout}}',
        '{{configHash.x}}',
      ];
      for (const trimmed of bad) assert.notDeepEqual(checkTemplate('t', trimmed), [], trimmed);
    });

    it('names the template and the line', () => {
      const errors = checkTemplate('partials/x.hbs', 'ok {{str a}}\n\n  {{host}}\n');
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^partials\/x\.hbs:3: \{\{host\}\} must use an nginx helper/);
      assert.match(checkTemplate('x', 'a\n{{{host}}}')[0]!, /^x:2: triple-stash/);
    });
  });

  describe('loadTemplates', () => {
    let dir: string;
    beforeEach(() => {
      dir = fs.mkdtempSync(nodePath.join(os.tmpdir(), 'it-templates-'));
      fs.cpSync(DEFAULT_TEMPLATE_DIR, dir, { recursive: true });
    });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('renders a copy of the bundled templates identically', () => {
      assert.equal(loadTemplates(dir).render(rich.model, options('/srv/it')).text, rich.text);
    });

    it('throws TemplateError for an unsafe main template or partial, naming the file', () => {
      fs.appendFileSync(nodePath.join(dir, 'partials', 'server.hbs'), '    # {{host}}\n');
      assert.throws(
        () => loadTemplates(dir),
        (e: unknown) => e instanceof TemplateError && /partials\/server\.hbs:\d+: \{\{host\}\}/.test(e.message),
      );
      fs.cpSync(DEFAULT_TEMPLATE_DIR, dir, { recursive: true });
      fs.appendFileSync(nodePath.join(dir, 'nginx.conf.hbs'), '# {{{version}}}\n');
      assert.throws(
        () => loadTemplates(dir),
        (e: unknown) => e instanceof TemplateError && /nginx\.conf\.hbs:\d+: triple-stash/.test(e.message),
      );
    });

    it('throws TemplateError when the main template is missing', () => {
      fs.rmSync(nodePath.join(dir, 'nginx.conf.hbs'));
      assert.throws(() => loadTemplates(dir), TemplateError);
    });

    it('throws TemplateError when a value fails its helper at render time', () => {
      const model = structuredClone(rich.model);
      model.servers[1]!.locations[0]!.path = '/a;b';
      assert.throws(
        () => renderer.render(model, options('/srv/it')),
        (e: unknown) => e instanceof TemplateError && /refusing to render "\/a;b" with \{\{path\}\}/.test(e.message),
      );
      const built = structuredClone(rich.model);
      built.servers[1]!.host = 'evil.example.com;\n    server_name x';
      assert.throws(() => renderer.render(built, options('/srv/it')), TemplateError);
      assert.throws(() => renderer.render(rich.model, { ...options('/srv/it'), prefix: '/srv/$evil' }), TemplateError);
    });
  });

  describe('output', () => {
    it('is byte-identical for the same input, and for the input in another order', () => {
      assert.equal(renderer.render(rich.model, options('/srv/it')).text, rich.text);
      const rs = richResources(certs);
      const opts = { ...CONFIG_MAP_OPTION, resolved: new Map([['api.example.net', ['192.0.2.10']]]) };
      for (let seed = 0; seed < rs.length; seed += 3) {
        const again = renderer.render(build(reorder(rs, seed), opts).model, options('/srv/it'));
        assert.equal(again.text, rich.text, `seed ${seed}`);
        assert.equal(again.hash, rich.hash);
      }
    });

    it('carries the config hash, the sha256 of the text with the placeholder', () => {
      assert.match(rich.hash, /^[0-9a-f]{64}$/);
      assert.ok(rich.text.includes(`# config-hash ${rich.hash}\n`));
      assert.ok(rich.text.includes(`return 200 "${rich.hash}";`));
      assert.ok(!rich.text.includes(HASH_PLACEHOLDER));
      const withPlaceholder = rich.text.split(rich.hash).join(HASH_PLACEHOLDER);
      assert.equal(crypto.createHash('sha256').update(withPlaceholder).digest('hex'), rich.hash);
    });

    it('changes the hash when the model changes', () => {
      const model = structuredClone(rich.model);
      model.backends[0]!.endpoints.pop();
      assert.notEqual(renderer.render(model, options('/srv/it')).hash, rich.hash);
    });

    it('marks the start and end of every server, once each, in host order', () => {
      const starts = [...rich.text.matchAll(/^ *## start server (\S+)$/gm)].map((m) => m[1]);
      const ends = [...rich.text.matchAll(/^ *## end server (\S+)$/gm)].map((m) => m[1]);
      const hosts = [
        '_',
        '*.example.com',
        'cafe.example.com',
        'plain.example.org',
        'secure.example.org',
        'tea.example.com',
      ];
      assert.deepEqual(starts, hosts);
      assert.deepEqual(ends, hosts);
      for (const host of hosts)
        assert.match(
          serverBlock(rich.text, host),
          /^## start server \S+\n {4}server \{\n[\s\S]*\n {4}\}\n {4}## end server \S+\n$/,
        );
    });

    it('gives the catch-all server "_" and the default_server flag, and the wildcard a one-label regex', () => {
      const any = serverBlock(rich.text, '_');
      assert.match(any, /server_name _;/);
      assert.match(any, /listen 8080 default_server reuseport;/);
      assert.match(any, /listen 8443 ssl http2 default_server reuseport;/);
      const wild = serverBlock(rich.text, '*.example.com');
      assert.match(wild, /server_name "~\^\[\^\.\]\+\\\.example\\\.com\$";/);
      assert.doesNotMatch(wild, /default_server/);
      assert.match(serverBlock(rich.text, 'tea.example.com'), /server_name tea\.example\.com;/);
    });

    it('renders Prefix as "= /p" plus "/p/", lets Exact own "= /p", and orders longest first', () => {
      // an Exact path ending in "/" is a case-sensitive regex: "= /menu/" would make nginx redirect "/menu"
      assert.deepEqual(locationLines(serverBlock(rich.text, 'cafe.example.com')), [
        'location = "/coffee" {',
        'location "/coffee/" {',
        'location ~ "^/menu/$" {',
        'location = "/tea" {',
        'location "/tea/" {',
        'location / {',
      ]);
      assert.equal(rich.text.match(/location = "\/coffee" \{/g)?.length, 1);
    });

    it('names the Ingress behind every location', () => {
      const cafe = serverBlock(rich.text, 'cafe.example.com');
      assert.match(
        cafe,
        /# ingress default\/cafe Exact \/coffee\n\s+location = "\/coffee" \{\n\s+set \$proxy_upstream_name "default_tea_80";/,
      );
      assert.match(cafe, /# ingress default\/cafe Prefix \/coffee\/\n\s+location "\/coffee\/" \{/);
      assert.match(cafe, /# no rule matched: default backend of ingress default\/cafe\n\s+location \/ \{/);
      assert.match(
        serverBlock(rich.text, 'tea.example.com'),
        /# ingress default\/wild ImplementationSpecific \/\n\s+location "\/" \{/,
      );
      // every location of every server comes right after the comment that names where it came from (only a
      // "location /" of nobody's, answering 404, has none)
      for (const host of [...rich.text.matchAll(/## start server (\S+)\n/g)].map((m) => m[1]!)) {
        const lines = serverBlock(rich.text, host).split('\n');
        lines.forEach((line, index) => {
          const nobodys = line.trim() === 'location / {' && lines[index + 2]?.trim() === 'return 404;';
          if (/^\s+location [^@]/.test(line) && !nobodys)
            assert.match(
              lines[index - 1]!,
              /^\s+# (ingress [a-z0-9-]+\/[a-z0-9-]+ (Exact|Prefix|ImplementationSpecific) \/\S*|no rule matched: default backend of ingress \S+)$/,
              `${host}: ${line}`,
            );
        });
      }
    });

    it('leaves the younger conflicting Ingress out', () => {
      assert.doesNotMatch(rich.text, /default\/late/);
    });

    it('proxies to upstreams with ready endpoints only and answers 503 otherwise', () => {
      assert.match(
        rich.text,
        /upstream default_tea_80 \{\n.*\n\s+zone default_tea_80 64k;\n\s+server 10\.0\.0\.11:8080;\n\s+server 10\.0\.0\.12:8080;\n\s+server \[fd00::11\]:8080;\n\s+keepalive 16;\n\s+keepalive_requests 10000;\n\s+\}/,
      );
      assert.match(
        rich.text,
        /upstream default_coffee_80 \{[^}]*server 10\.0\.0\.21:8080;\n\s+server 10\.0\.0\.22:8080;\n\s+keepalive 16;/,
      );
      assert.match(rich.text, /upstream default_ext_443 \{[^}]*server 192\.0\.2\.10:443;/);
      assert.doesNotMatch(rich.text, /10\.0\.0\.13|10\.0\.0\.29/);
      assert.doesNotMatch(rich.text, /upstream default_empty_80/);
      const plain = serverBlock(rich.text, 'plain.example.org');
      assert.match(plain, /location = "\/only" \{\n\s+set \$proxy_upstream_name "default_empty_80";\n\s+return 503;/);
      assert.match(plain, /location "\/missing\/" \{\n\s+set \$proxy_upstream_name "-";\n\s+return 503;/);
      assert.match(plain, /location "\/ext\/" \{\n[^}]*proxy_pass http:\/\/default_ext_443;/);
      // plain's unmatched paths: no default backend of its own (cafe's covers cafe's host), so 404
      assert.match(plain, /\n\s+location \/ \{\n\s+set \$proxy_upstream_name "-";\n\s+return 404;/);
      assert.match(
        serverBlock(rich.text, '_'),
        /# no rule matched: default backend of ingress default\/catch-all\n\s+location \/ \{\n[^}]*proxy_pass http:\/\/default_default-http_8081;/,
      );
    });

    it('answers 404 for unmatched requests without any default backend', () => {
      const { model } = build([
        service({ name: 'web' }),
        ingress({ name: 'a', rules: [rule('h.example.com', exact('/x', 'web'))] }),
      ]);
      const text = renderer.render(model, options('/srv/it')).text;
      assert.match(
        serverBlock(text, 'h.example.com'),
        /\}\n\s+location \/ \{\n\s+set \$proxy_upstream_name "-";\n\s+return 404;\n\s+\}/,
      );
      assert.match(serverBlock(text, 'h.example.com'), /location = "\/x" \{\n[^}]*return 503;/);
    });

    it('writes redirect lines only in TLS servers, and not where ssl-redirect is off', () => {
      const redirect = /if \(\$scheme = http\) \{ return 308 https:\/\/\$host\$ingress_templater_redirect_uri; \}/g;
      // every location of these servers redirects: they listen for HTTPS only, and one server answers
      // plain HTTP for all of them
      for (const host of ['cafe.example.com', '*.example.com', 'tea.example.com']) {
        const block = serverBlock(rich.text, host);
        // "return 308", not just "308": certificate file names carry random hex
        assert.doesNotMatch(block, /return 308|listen 8080/, host);
        assert.match(block, /listen 8443 ssl http2;/, host);
      }
      const shared = rich.text.slice(
        rich.text.indexOf('# Plain HTTP to the hosts'),
        rich.text.indexOf('# Loopback-only status server'),
      );
      assert.match(
        shared,
        /server \{\n {8}listen 8080;\n {8}server_name "~\^\[\^\.\]\+\\\.example\\\.com\$";\n {8}server_name cafe\.example\.com;\n {8}server_name tea\.example\.com;\n {8}return 308 https:\/\/\$host\$ingress_templater_redirect_uri;\n {4}\}\n/,
      );
      assert.equal(rich.text.match(redirect), null, 'no if block left');
      for (const host of ['_', 'plain.example.org', 'secure.example.org']) {
        assert.doesNotMatch(serverBlock(rich.text, host), /return 308/, host);
        assert.match(serverBlock(rich.text, host), /listen 8080( default_server reuseport)?;/, host);
        assert.doesNotMatch(shared, new RegExp(`server_name ${host.replace(/\./g, '\\.')};`), host);
      }
      const at443 = renderer.render(rich.model, { ...options('/srv/it'), httpsPort: 443 }).text;
      assert.match(at443, /return 308 https:\/\/\$host\$ingress_templater_redirect_uri;/);
    });

    it('keeps the redirect in the server when from-to-www or app-root must see plain HTTP first', () => {
      const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
      const cert = makeCert(['a.example.com', 'www.a.example.com', 'b.example.com']);
      const { model } = build([
        service({ name: 'web' }),
        endpoints({ name: 'web', subsets: [{ ready: ['10.0.0.1'] }] }),
        secret({ name: 's', cert }),
        ingress({
          name: 'a',
          annotations: { [`${ANNOTATION_PREFIX}from-to-www-redirect`]: 'true' },
          tls: [{ hosts: ['a.example.com', 'www.a.example.com'], secretName: 's' }],
          rules: [rule('a.example.com', path('/', 'web'))],
        }),
        ingress({
          name: 'b',
          annotations: { [`${ANNOTATION_PREFIX}app-root`]: '/app' },
          tls: [{ hosts: ['b.example.com'], secretName: 's' }],
          rules: [rule('b.example.com', path('/', 'web'))],
        }),
      ]);
      const text = renderer.render(model, options('/srv/it')).text;
      for (const host of ['a.example.com', 'b.example.com']) {
        const block = serverBlock(text, host);
        assert.match(block, /listen 8080;/, host);
        const at = block.indexOf('if ($scheme = http) { return 308 https://$host$ingress_templater_redirect_uri; }');
        assert.ok(at > 0 && at < block.indexOf('location '), host);
        assert.ok(
          block.indexOf(host === 'a.example.com' ? 'return 308 $scheme://' : 'return 302 $scheme://') < at,
          `${host}: after the server's own redirect`,
        );
      }
      assert.doesNotMatch(text, /# Plain HTTP to the hosts/);
    });

    it("uses certificate files named after the Secret and its hash; the default certificate is the catch-all's alone", () => {
      for (const cert of rich.model.certificates) {
        const file = certificateFile('/srv/it', cert);
        assert.ok(rich.text.includes(`ssl_certificate "${file}";\n        ssl_certificate_key "${file}";`), file);
      }
      assert.deepEqual(
        rich.model.certificates.map((c) => c.name),
        ['default_cafe-secret', 'default_star'],
      );
      assert.match(
        serverBlock(rich.text, 'tea.example.com'),
        /ssl_certificate "\/srv\/it\/ssl\/default_star-[0-9a-f]{16}\.pem";/,
      );
      assert.match(
        serverBlock(rich.text, '_'),
        /ssl_certificate "\/srv\/it\/ssl\/default\.pem";\n\s+ssl_certificate_key "\/srv\/it\/ssl\/default\.pem";/,
      );
      // SNI leaves these on the catch-all's TLS context: the default certificate, loaded once
      for (const host of ['secure.example.org', 'plain.example.org'])
        assert.doesNotMatch(serverBlock(rich.text, host), /ssl_certificate/, host);
      assert.equal(rich.text.split('ssl/default.pem";').length - 1, 2);
    });

    it('applies the ConfigMap settings', () => {
      assert.match(rich.text, /client_max_body_size 8m;/);
      assert.match(rich.text, /proxy_read_timeout 120s;/);
    });

    it('nginx -t accepts the rendered configuration of a rich model', function () {
      if (!fs.existsSync(NGINX)) this.skip();
      this.timeout(30_000);
      const prefix = tempNginxPrefix('it-nginx-');
      try {
        const listening = { ...options(prefix), listenAddress: '127.0.0.1' };
        fs.writeFileSync(listening.defaultCertificate, certs.def.crt + certs.def.key, { mode: 0o600 });
        for (const cert of rich.model.certificates)
          fs.writeFileSync(certificateFile(prefix, cert), cert.pem, { mode: 0o600 });
        const { text } = renderer.render(rich.model, listening);
        const complaint = nginxConfigTest(prefix, text);
        if (complaint !== null) assert.fail(`nginx -t refused the config:\n${complaint}\n${numberedLines(text)}`);
      } finally {
        fs.rmSync(prefix, { recursive: true, force: true });
      }
    });

    it('the rich model has the problems it was built to have', () => {
      const { problems } = build(richResources(certs), {
        ...CONFIG_MAP_OPTION,
        resolved: new Map([['api.example.net', ['192.0.2.10']]]),
      });
      const messages = problems.map((p) => p.message);
      assert.ok(
        messages.some((m) => /already routed by Ingress default\/cafe/.test(m)),
        show(problems),
      );
      assert.ok(
        messages.some((m) => /Service default\/nowhere not found/.test(m)),
        show(problems),
      );
      assert.ok(
        messages.some((m) => /Secret default\/not-there not found/.test(m)),
        show(problems),
      );
    });
  });
});

describe('render: backends without endpoints in lua mode', () => {
  const renderer = loadTemplates();
  const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
  const { model } = build([
    service({ name: 'web' }),
    endpoints({ name: 'web', subsets: [] }),
    service({ name: 'api' }),
    ingress({ name: 'plain', rules: [rule('plain.example.com', path('/', 'web'))] }),
    ingress({
      name: 'grpc',
      annotations: { [`${ANNOTATION_PREFIX}backend-protocol`]: 'GRPC' },
      rules: [rule('grpc.example.com', path('/svc', 'api'), path('/', 'web'))],
    }),
  ]);
  const text = renderer.render(model, { ...options('/srv/it'), balancer: 'lua' }).text;

  it("names the 503 server on 127.0.0.2 as the balancer's answer, once; plain servers need no block for it", () => {
    assert.match(text, /\n {4}map \$https \$ingress_templater_unavailable \{ default "127\.0\.0\.2:10246"; \}\n/);
    const unavailable = text.slice(text.indexOf('listen 127.0.0.2:10246;'));
    assert.match(
      unavailable,
      /^listen 127\.0\.0\.2:10246;\n\s+server_name _;\n\s+access_log off;\n\s+add_header X-Ingress-Templater backend-unavailable always;\n\s+return 503;\n\s+\}/,
    );
    assert.doesNotMatch(text, /\n {4}error_page /, 'no http-level error_page');
    const plain = serverBlock(text, 'plain.example.com');
    assert.doesNotMatch(plain, /location @|error_page|ingress_templater_unavailable/);
    assert.match(
      plain,
      /location "\/" \{\n\s+set \$proxy_upstream_name "default_web_80";\n\s+proxy_pass http:\/\/upstream_balancer;/,
    );
  });

  it('gRPC and HTTPS locations fail with 500 to a named location of their server instead (the internal server speaks HTTP/1)', () => {
    const grpc = serverBlock(text, 'grpc.example.com');
    assert.equal(grpc.split('location @ingress_templater_unavailable { return 503; }').length, 2, grpc);
    for (const loc of ['= "/svc"', '"/svc/"', '"/"']) {
      const at = grpc.indexOf(`location ${loc} {`);
      assert.ok(at > 0, loc);
      assert.match(
        grpc.slice(at),
        /^[^}]*set \$ingress_templater_unavailable "";\n\s+error_page 500 =503 @ingress_templater_unavailable;[^}]*grpc_pass grpc:\/\/upstream_balancer;/,
        loc,
      );
    }
  });

  it('the internal server answers 503 to every proxied request, so its API is not reachable through a server', () => {
    const internal = text.slice(text.indexOf('# Defence in depth for the API'));
    assert.match(
      internal,
      /map "\$http_x_request_id\$http_x_forwarded_for:\$host" \$ingress_templater_proxied \{\n\s+default "backend-unavailable";\n\s+"~\^:" "";\n\s+":upstream_balancer" "backend-unavailable";\n\s+\}/,
    );
    const server = internal.slice(internal.indexOf('server {'));
    assert.ok(
      server.indexOf('if ($ingress_templater_proxied) {\n            return 503;') < server.indexOf('location '),
      'before any location',
    );
    assert.match(server, /add_header X-Ingress-Templater \$ingress_templater_proxied always;/);
    assert.doesNotMatch(server, /location @/);
  });

  it('static mode has none of it', () => {
    const stat = renderer.render(model, options('/srv/it')).text;
    assert.doesNotMatch(stat, /ingress_templater_unavailable|ingress_templater_proxied/);
  });
});
