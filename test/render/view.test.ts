import assert from 'node:assert/strict';
import type { Model } from '../../src/model/index.js';
import { bundledTraits } from '../../src/render/partial-traits.js';
import type { PartialTraits, TraitsOf } from '../../src/render/partial-traits.js';
import { buildView, certificateFile } from '../../src/render/view.js';
import type { RenderOptions } from '../../src/render/view.js';
import type { Resource } from '../../src/resources.js';
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
  rule,
  secret,
  service,
  show,
} from '../helpers/resources.js';
import type { TestCert } from '../helpers/resources.js';

const OPTS: RenderOptions = {
  prefix: '/srv/it',
  listenAddress: '*',
  httpPort: 80,
  httpsPort: 443,
  internalPort: 10246,
  defaultCertificate: '/srv/it/ssl/default.pem',
  features: { tempPaths: ['fastcgi', 'uwsgi', 'scgi'] },
  version: '0.1.0',
  balancer: 'static',
  luaDir: '/srv/it/lua',
  luaModules: [],
};

const app = (name: string, ...ips: string[]): Resource[] => [
  service({ name }),
  endpoints({ name, subsets: ips.length ? [{ ready: ips }] : [] }),
];
const model = (resources: Resource[], opts = {}): Model => {
  const result = build(resources, opts);
  return result.model;
};
const serverView = (built: Model, host: string, options: RenderOptions = OPTS) => {
  const server = buildView(built, options).servers.find((x) => x.host === host);
  assert.ok(server, `no server ${host}`);
  return server;
};
const locs = (s: ReturnType<typeof serverView>) =>
  s.locations.map((l) => `${l.exact ? '= ' : ''}${l.path} -> ${l.backend ?? 503}`);

// the ssl-redirect target by default: the URI less a trailing "/", no port (as ingress-nginx)
const TO_HTTPS = { keepSlash: false, port: null };

describe('render view', () => {
  let cafe: TestCert;
  before(function () {
    this.timeout(30_000);
    cafe = makeCert(['cafe.example.com']);
  });

  it('splits a Prefix path into an exact location and a prefix location ending in "/"', () => {
    const server = serverView(
      model([...app('web', '10.0.0.1'), ingress({ name: 'a', rules: [rule('h.example.com', path('/foo', 'web'))] })]),
      'h.example.com',
    );
    assert.deepEqual(locs(server), ['= /foo -> default_web_80', '/foo/ -> default_web_80']);
  });

  it('lets an Exact rule own "= /foo", leaving the Prefix rule only "/foo/"', () => {
    const server = serverView(
      model([
        ...app('web', '10.0.0.1'),
        ...app('api', '10.0.0.2'),
        ingress({ name: 'a', rules: [rule('h.example.com', path('/foo', 'web'))] }),
        ingress({ name: 'b', rules: [rule('h.example.com', exact('/foo', 'api'))] }),
      ]),
      'h.example.com',
    );
    assert.deepEqual(locs(server), ['= /foo -> default_api_80', '/foo/ -> default_web_80']);
    assert.deepEqual(
      server.locations.map((l) => l.ingress),
      ['default/b', 'default/a'],
    );
  });

  it('renders Prefix "/" as one location and then needs no fallback', () => {
    const server = serverView(
      model([...app('web', '10.0.0.1'), ingress({ name: 'a', rules: [rule('h.example.com', path('/', 'web'))] })]),
      'h.example.com',
    );
    assert.deepEqual(locs(server), ['/ -> default_web_80']);
    assert.equal(server.fallback, null);
  });

  it('keeps a fallback when "/" is only an Exact rule', () => {
    const server = serverView(
      model([...app('web', '10.0.0.1'), ingress({ name: 'a', rules: [rule('h.example.com', exact('/', 'web'))] })]),
      'h.example.com',
    );
    assert.deepEqual(locs(server), ['= / -> default_web_80']);
    assert.equal(server.fallback?.status, 404);
  });

  it('answers 404 without a default backend, proxies to a default backend, and 503 when it is unreachable', () => {
    const none = serverView(model([]), '');
    const { backend: noBackend, upstreamLabel, status, ingress: noIngress, redirect, families } = none.fallback!;
    assert.deepEqual(
      { backend: noBackend, upstreamLabel, status, ingress: noIngress, redirect, families },
      { backend: null, upstreamLabel: '-', status: 404, ingress: '', redirect: null, families: [] },
    );
    const def = serverView(
      model([...app('def', '10.0.0.1'), ingress({ name: 'd', defaultBackend: backend('def') })]),
      '',
    );
    assert.equal(def.fallback?.backend, 'default_def_80');
    assert.equal(def.fallback?.ingress, 'default/d');
    const empty = serverView(model([...app('def'), ingress({ name: 'd', defaultBackend: backend('def') })]), '');
    assert.equal(empty.fallback?.backend, null);
    assert.equal(empty.fallback?.status, 503);
    assert.equal(empty.fallback?.upstreamLabel, 'default_def_80');
    const missing = serverView(model([ingress({ name: 'd', defaultBackend: backend('nope') })]), '');
    assert.equal(missing.fallback?.status, 503);
  });

  it('leaves backends without endpoints out of the upstreams and answers 503 for their locations', () => {
    const built = model([
      ...app('full', '10.0.0.1'),
      ...app('empty'),
      ingress({
        name: 'a',
        rules: [rule('h.example.com', exact('/full', 'full'), exact('/empty', 'empty'), exact('/gone', 'gone'))],
      }),
    ]);
    const value = buildView(built, OPTS);
    assert.deepEqual(
      value.upstreams.map((u) => u.name),
      ['default_full_80'],
    );
    const server = value.servers.find((x) => x.host === 'h.example.com')!;
    assert.deepEqual(
      server.locations.map((l) => [l.path, l.backend, l.upstreamLabel]),
      [
        ['/empty', null, 'default_empty_80'],
        ['/full', 'default_full_80', 'default_full_80'],
        ['/gone', null, '-'],
      ],
    );
  });

  describe('TLS', () => {
    const tlsModel = (annotations: Record<string, string> = {}, more: Resource[] = [], opts = {}) =>
      model(
        [
          ...app('web', '10.0.0.1'),
          secret({ name: 'cafe', cert: cafe }),
          ...more,
          ingress({
            name: 'a',
            annotations,
            tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
            rules: [rule('cafe.example.com', path('/tea', 'web')), rule('plain.example.com', path('/tea', 'web'))],
          }),
        ],
        opts,
      );

    it('points TLS servers at their certificate file, the catch-all at the default certificate, others nowhere', () => {
      const built = tlsModel();
      const cert = built.certificates[0]!;
      assert.equal(serverView(built, 'cafe.example.com').certificate, certificateFile(OPTS.prefix, cert));
      assert.equal(certificateFile(OPTS.prefix, cert), `/srv/it/ssl/default_cafe-${cert.hash.slice(0, 16)}.pem`);
      assert.equal(serverView(built, 'plain.example.com').certificate, null);
      assert.equal(serverView(built, '').certificate, OPTS.defaultCertificate);
    });

    it('gives a server checking client certificates a TLS context of its own, with the default certificate', () => {
      const ca = makeCert(['ca.invalid']);
      const built = tlsModel({}, [
        secret({ name: 'ca', type: 'Opaque', data: { 'ca.crt': Buffer.from(ca.crt).toString('base64') } }),
        ingress({
          name: 'mtls',
          annotations: { 'nginx.ingress.kubernetes.io/auth-tls-secret': 'default/ca' },
          rules: [rule('mtls.example.com', path('/', 'web'))],
        }),
      ]);
      assert.ok('auth-tls' in built.servers.find((x) => x.host === 'mtls.example.com')!.ann);
      assert.equal(serverView(built, 'mtls.example.com').certificate, OPTS.defaultCertificate);
    });

    it('redirects to https only in TLS servers: once per server when every location would', () => {
      const built = tlsModel();
      const cafeView = serverView(built, 'cafe.example.com');
      // plain HTTP for it goes to the one server redirecting all such hosts
      assert.equal(cafeView.redirectedElsewhere, true);
      assert.equal(cafeView.redirect, null);
      assert.deepEqual(
        cafeView.locations.map((l) => l.redirect),
        [null, null],
      );
      assert.equal(cafeView.fallback?.redirect, null);
      assert.deepEqual(buildView(built, OPTS).httpsRedirect?.hosts, ['cafe.example.com']);
      // app-root must see plain HTTP first: the server keeps one "if"
      const root = serverView(tlsModel({ 'nginx.ingress.kubernetes.io/app-root': '/app' }), 'cafe.example.com');
      assert.deepEqual(root.redirect, TO_HTTPS);
      assert.equal(root.redirectedElsewhere, false);
      assert.deepEqual(
        root.locations.map((l) => l.redirect),
        [null, null],
      );
      const plain = serverView(built, 'plain.example.com');
      assert.equal(plain.redirect, null);
      assert.equal(plain.redirectedElsewhere, false);
      assert.deepEqual(
        plain.locations.map((l) => l.redirect),
        [null, null],
      );
      assert.equal(plain.fallback?.redirect, null);
    });

    it('keeps the redirect per location when the locations differ, a location is denied, or a snippet could add locations', () => {
      const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
      const other = (annotations: Record<string, string>) =>
        ingress({
          name: 'b',
          annotations,
          tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
          rules: [rule('cafe.example.com', path('/coffee', 'web'))],
        });
      const mixed = serverView(
        tlsModel({}, [other({ [`${ANNOTATION_PREFIX}ssl-redirect`]: 'false' })]),
        'cafe.example.com',
      );
      assert.equal(mixed.redirect, null);
      assert.equal(mixed.redirectedElsewhere, false);
      assert.deepEqual(
        mixed.locations.map((l) => [l.path, l.redirect]),
        [
          ['/coffee', null],
          ['/coffee/', null],
          ['/tea', TO_HTTPS],
          ['/tea/', TO_HTTPS],
        ],
      );
      assert.deepEqual(mixed.fallback?.redirect, TO_HTTPS);
      // plain HTTP to a denied location keeps its 503 (an allow list that cannot be read denies)
      const denied = serverView(
        tlsModel({}, [other({ [`${ANNOTATION_PREFIX}allowlist-source-range`]: 'not-a-cidr' })]),
        'cafe.example.com',
      );
      assert.equal(denied.redirect, null);
      assert.deepEqual(
        denied.locations.map((l) => [l.path, l.denied, l.redirect]),
        [
          ['/coffee', true, null],
          ['/coffee/', true, null],
          ['/tea', false, TO_HTTPS],
          ['/tea/', false, TO_HTTPS],
        ],
      );
      const snippets = [configMap({ 'allow-snippet-annotations': 'true' })];
      const snip = serverView(
        tlsModel(
          {},
          [...snippets, other({ [`${ANNOTATION_PREFIX}configuration-snippet`]: 'add_header X-A 1;' })],
          CONFIG_MAP_OPTION,
        ),
        'cafe.example.com',
      );
      assert.equal(snip.redirect, null);
      assert.ok(
        snip.locations.every((l) => l.redirect),
        'every location redirects on its own',
      );
      const srv = serverView(
        tlsModel(
          {},
          [...snippets, other({ [`${ANNOTATION_PREFIX}server-snippet`]: 'location = /ping { return 200; }' })],
          CONFIG_MAP_OPTION,
        ),
        'cafe.example.com',
      );
      assert.equal(srv.redirect, null);
    });

    it('never redirects the paths of no-tls-redirect-locations (ACME challenges), unless the host checks client certificates', () => {
      const acme = ingress({
        name: 'acme',
        tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
        annotations: { 'nginx.ingress.kubernetes.io/force-ssl-redirect': 'true' },
        rules: [rule('cafe.example.com', exact('/.well-known/acme-challenge/tok', 'web'))],
      });
      const view = serverView(tlsModel({}, [acme]), 'cafe.example.com');
      assert.equal(view.redirect, null);
      assert.equal(view.redirectedElsewhere, false);
      assert.deepEqual(
        view.locations.map((l) => [l.path, l.redirect]),
        [
          ['/.well-known/acme-challenge/tok', null],
          ['/tea', TO_HTTPS],
          ['/tea/', TO_HTTPS],
        ],
      );
      // the ConfigMap's list replaces the default
      const replaced = serverView(
        tlsModel({}, [acme, configMap({ 'no-tls-redirect-locations': '/te' })], CONFIG_MAP_OPTION),
        'cafe.example.com',
      );
      assert.deepEqual(
        replaced.locations.map((l) => [l.path, l.redirect]),
        [
          ['/.well-known/acme-challenge/tok', TO_HTTPS],
          ['/tea', null],
          ['/tea/', null],
        ],
      );
      // client certificates: plain HTTP never reaches the host, ACME challenge or not
      const ca = makeCert(['ca.invalid']);
      const mtls = serverView(
        tlsModel({}, [
          secret({ name: 'ca', type: 'Opaque', data: { 'ca.crt': Buffer.from(ca.crt).toString('base64') } }),
          ingress({
            name: 'mtls',
            annotations: { 'nginx.ingress.kubernetes.io/auth-tls-secret': 'default/ca' },
            rules: [rule('mtls.example.com', path('/', 'web'))],
          }),
          ingress({
            name: 'mtls-acme',
            rules: [rule('mtls.example.com', exact('/.well-known/acme-challenge/t', 'web'))],
          }),
        ]),
        'mtls.example.com',
      );
      assert.equal(mtls.redirectedElsewhere, true, 'plain HTTP for the host goes to the redirecting server');
    });

    it('does not redirect when the annotation or the ConfigMap says so', () => {
      const annotated = serverView(
        tlsModel({ 'nginx.ingress.kubernetes.io/ssl-redirect': 'false' }),
        'cafe.example.com',
      );
      assert.deepEqual(
        annotated.locations.map((l) => l.redirect),
        [null, null],
      );
      assert.equal(annotated.redirect, null);
      const off = serverView(
        tlsModel({}, [configMap({ 'ssl-redirect': 'false' })], CONFIG_MAP_OPTION),
        'cafe.example.com',
      );
      assert.deepEqual(
        off.locations.map((l) => l.redirect),
        [null, null],
      );
      assert.equal(off.fallback?.redirect, null);
      assert.equal(off.redirect, null);
    });

    it('puts no port in the redirect, as ingress-nginx; use-port-in-redirects puts the https port, 443 included', () => {
      // every location redirects alike: the shared server's target is the one
      const target = (built: Model, httpsPort: number) =>
        buildView(built, { ...OPTS, httpsPort }).httpsRedirect?.target;
      assert.deepEqual(target(tlsModel(), 8443), TO_HTTPS);
      const ported = tlsModel({}, [configMap({ 'use-port-in-redirects': 'true' })], CONFIG_MAP_OPTION);
      assert.deepEqual(target(ported, 8443), { keepSlash: false, port: 8443 });
      assert.deepEqual(target(ported, 443), { keepSlash: false, port: 443 });
      // one Ingress's preserve-trailing-slash: its target is not the shared server's, so its server listens;
      // the location of the host's unmatched paths carries the same annotation (ingress-nginx's root
      // location), so every location redirects alike, once at server level
      const kept = serverView(
        tlsModel({ 'nginx.ingress.kubernetes.io/preserve-trailing-slash': 'true' }),
        'cafe.example.com',
      );
      assert.equal(kept.redirectedElsewhere, false);
      assert.deepEqual(kept.redirect, { keepSlash: true, port: null });
      assert.deepEqual(
        [...kept.locations, kept.fallback].map((l) => l?.redirect),
        [null, null, null],
      );
      // with a younger Ingress of the host without it, the locations differ: one "if" per location
      const mixed = serverView(
        tlsModel({ 'nginx.ingress.kubernetes.io/preserve-trailing-slash': 'true' }, [
          ingress({
            name: 'b',
            tls: [{ hosts: ['cafe.example.com'], secretName: 'cafe' }],
            rules: [rule('cafe.example.com', path('/coffee', 'web'))],
          }),
        ]),
        'cafe.example.com',
      );
      assert.equal(mixed.redirect, null);
      assert.deepEqual(
        [...mixed.locations, mixed.fallback].map((l) => [l?.path, l?.redirect]),
        [
          ['/coffee', TO_HTTPS],
          ['/coffee/', TO_HTTPS],
          ['/tea', { keepSlash: true, port: null }],
          ['/tea/', { keepSlash: true, port: null }],
          ['/', { keepSlash: true, port: null }],
        ],
      );
    });

    describe('decides by what the partials do (render/partial-traits.ts), not by family names', () => {
      const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
      const bundled = bundledTraits();
      // the bundled traits, with one partial changed
      const changed =
        (partial: string, traits: Partial<PartialTraits>): TraitsOf =>
        (name) =>
          name === partial ? { ...bundled(name), ...traits } : bundled(name);
      const cafeServer = (m: Model, traitsOf: TraitsOf) =>
        buildView(m, OPTS, traitsOf).servers.find((x) => x.host === 'cafe.example.com')!;

      it('a location whose partial adds a header repeats HSTS, whichever family it is', () => {
        const built = tlsModel({ [`${ANNOTATION_PREFIX}proxy-read-timeout`]: '30' });
        assert.deepEqual(
          cafeServer(built, bundled).locations.map((l) => l.ownHeaders),
          [false, false],
        );
        assert.deepEqual(
          cafeServer(built, changed('ann-proxy', { addsHeaders: true })).locations.map((l) => l.ownHeaders),
          [true, true],
        );
      });

      it('a server partial that answers before the redirect keeps plain HTTP on its server', () => {
        const built = tlsModel();
        const www = tlsModel({ [`${ANNOTATION_PREFIX}from-to-www-redirect`]: 'true' });
        assert.equal(cafeServer(built, bundled).redirectedElsewhere, true);
        assert.equal(cafeServer(www, bundled).redirectedElsewhere, false);
        assert.equal(
          cafeServer(www, changed('srv-redirect', { answersBeforeRedirect: false })).redirectedElsewhere,
          true,
        );
      });

      it('an opaque partial (user text) keeps every location and its own redirects', () => {
        const built = tlsModel({ [`${ANNOTATION_PREFIX}proxy-read-timeout`]: '30' });
        assert.equal(cafeServer(built, bundled).redirectedElsewhere, true);
        const opaque = cafeServer(built, changed('ann-proxy', { opaque: true }));
        assert.deepEqual(
          opaque.locations.map((l) => l.redirect),
          [TO_HTTPS, TO_HTTPS],
        );
        assert.equal(opaque.redirectedElsewhere, false);
      });
    });
  });

  it('sizes server_names_hash_bucket_size for the longest host unless the ConfigMap sets it', () => {
    const long = `${'a'.repeat(60)}.${'b'.repeat(50)}.example.com`;
    const resources = [...app('web', '10.0.0.1'), ingress({ name: 'a', rules: [rule(long, path('/', 'web'))] })];
    assert.equal(buildView(model([]), OPTS).serverNamesHashBucketSize, 64);
    assert.equal(buildView(model(resources), OPTS).serverNamesHashBucketSize, 256);
    const result = build([...resources, configMap({ 'server-name-hash-bucket-size': '512' })], CONFIG_MAP_OPTION);
    assert.equal(result.problems.length, 0, show(result.problems));
    assert.equal(buildView(result.model, OPTS).serverNamesHashBucketSize, 512);
  });

  it('puts every file under the prefix', () => {
    const value = buildView(model([]), OPTS);
    assert.deepEqual(value.paths, {
      pid: '/srv/it/nginx.pid',
      errorLog: '/srv/it/logs/error.log',
      accessLog: '/srv/it/logs/access.log',
      clientBodyTemp: '/srv/it/tmp/client_body',
      proxyTemp: '/srv/it/tmp/proxy',
    });
    assert.deepEqual(value.tempPaths, [
      { name: 'fastcgi', path: '/srv/it/tmp/fastcgi' },
      { name: 'uwsgi', path: '/srv/it/tmp/uwsgi' },
      { name: 'scgi', path: '/srv/it/tmp/scgi' },
    ]);
  });
});
