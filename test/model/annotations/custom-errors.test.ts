import assert from 'node:assert/strict';
import {
  CUSTOM_HTTP_ERRORS,
  DEFAULT_BACKEND,
  DISABLE_INTERCEPT,
  parseErrorCodes,
} from '../../../src/model/annotations/custom-errors.js';
import type { ErrorPage, LocationErrors } from '../../../src/model/annotations/custom-errors.js';
import type { Model } from '../../../src/model/index.js';
import { backend, build, endpoints, ingress, path, rule, service, show } from '../../helpers/resources.js';
import { locationBlock, nginxAccepts, renderText } from './nginx-check.js';

const svc = (name: string, ready: string[], ports?: { name?: string; port: number; targetPort?: number }[]) => [
  service({ name, ...(ports ? { ports } : {}) }),
  endpoints({
    name,
    subsets: [{ ready, ...(ports ? { ports: ports.map((p) => ({ name: p.name, port: p.targetPort ?? 8080 })) } : {}) }],
  }),
];
const base = [...svc('web', ['10.0.0.1']), ...svc('errors', ['10.0.0.2']), ...svc('empty', [])];
const ing = (
  annotations: Record<string, string>,
  name = 'site',
  host = 'a.example.com',
  paths: [string, string][] = [['/app', 'web']],
) => ingress({ name, annotations, rules: [rule(host, ...paths.map(([p, s]) => path(p, s)))] });
const server = (model: Model, host = 'a.example.com') => model.servers.find((s) => s.host === host)!;
const pagesOf = (model: Model, host = 'a.example.com') =>
  ((server(model, host).ann['custom-errors'] ?? { pages: [] }) as { pages: ErrorPage[] }).pages;

describe('model/annotations/custom-errors (default-backend, custom-http-errors)', () => {
  it('parseErrorCodes: status codes 400-599, deduplicated and sorted', () => {
    assert.deepEqual(parseErrorCodes('404,503'), [404, 503]);
    assert.deepEqual(parseErrorCodes(' 503 , 404,404 '), [404, 503]);
    assert.deepEqual(parseErrorCodes('599'), [599]);
    for (const value of ['', '404,', 'abc', '200', '399', '600', '404;503', '4040', '404 503', '-404', '4e2', ' , '])
      assert.equal(parseErrorCodes(value), undefined, value);
  });

  it("default-backend registers the Service (first port) as a backend, but does not answer the unmatched requests (ingress-nginx's root location skipped it)", () => {
    const res = [
      ...base,
      ...svc(
        'multi',
        ['10.0.0.3'],
        [
          { name: 'http', port: 8080, targetPort: 80 },
          { name: 'admin', port: 9090, targetPort: 90 },
        ],
      ),
      ing({ [DEFAULT_BACKEND]: 'multi' }),
      ing({}, 'other', 'b.example.com', [['/b', 'web']]),
    ];
    const { model, problems } = build(res);
    assert.equal(problems.length, 0, show(problems));
    assert.ok(
      model.backends.some((b) => b.name === 'default_multi_8080' && b.endpoints[0]!.port === 80),
      JSON.stringify(model.backends.map((b) => b.name)),
    );
    // unmatched: the controller's default (here none: 404), as ingress-nginx's; the annotation's Service is for
    // error pages and paths without endpoints
    assert.deepEqual(server(model).fallback, { backend: null, ingress: null });
    assert.deepEqual(
      server(model, 'b.example.com').fallback,
      { backend: null, ingress: null },
      "only the Ingress's own hosts",
    );
    const cfg = server(model).locations[0]!.ann['custom-errors'] as LocationErrors;
    assert.equal(cfg.pagesBackend, 'default_multi_8080');
    assert.deepEqual(cfg.codes, []);
    // without codes only the unavailable answer exists
    assert.deepEqual(
      pagesOf(model).map((p) => p.label),
      ['unavailable'],
    );
  });

  it('spec.defaultBackend of the same Ingress keeps the unmatched requests; the annotation still serves its error pages', () => {
    const res = [
      ...base,
      ingress({
        name: 'site',
        annotations: { [DEFAULT_BACKEND]: 'errors', [CUSTOM_HTTP_ERRORS]: '404' },
        defaultBackend: backend('web'),
        rules: [rule('a.example.com', path('/app', 'web'))],
      }),
    ];
    const { model } = build(res);
    assert.equal(server(model).fallback.backend, 'default_web_80');
    assert.ok(pagesOf(model).every((p) => p.backend === 'default_errors_80'));
  });

  it("a missing default-backend Service is reported (like a path's); the codes are still intercepted, answered 404", () => {
    const { model, problems } = build([...base, ing({ [DEFAULT_BACKEND]: 'nope', [CUSTOM_HTTP_ERRORS]: '404' })]);
    assert.ok(
      problems.some(
        (p) =>
          p.severity === 'warning' &&
          p.field === `metadata.annotations["${DEFAULT_BACKEND}"]` &&
          /Service default\/nope not found/.test(p.message),
      ),
      show(problems),
    );
    assert.equal((server(model).locations[0]!.ann['custom-errors'] as LocationErrors).pagesBackend, null);
    assert.equal(server(model).locations[0]!.denied, null);
    // as ingress-nginx, whose error pages then went to its built-in default backend (404)
    assert.deepEqual(
      pagesOf(model).map((p) => `${p.label} ${p.backend}`),
      ['404 null'],
    );
    // without codes there is nothing to intercept
    const alone = build([...base, ing({ [DEFAULT_BACKEND]: 'nope' })]);
    assert.equal(server(alone.model).locations[0]!.ann['custom-errors'], undefined);
    assert.deepEqual(pagesOf(alone.model), []);
  });

  it('custom-http-errors without the annotation: --default-backend-service serves the pages, never spec.defaultBackend; without it they answer 404', () => {
    const withSpecDefault = [
      ...base,
      ingress({
        name: 'site',
        annotations: { [CUSTOM_HTTP_ERRORS]: '404' },
        defaultBackend: backend('errors'),
        rules: [rule('a.example.com', path('/app', 'web'))],
      }),
    ];
    // ingress-nginx sent error pages to upstream-default-backend: the controller's, not the Ingress's
    const specOnly = build(withSpecDefault);
    assert.deepEqual(show(specOnly.problems), show([]));
    assert.deepEqual(
      pagesOf(specOnly.model).map((p) => `${p.label} ${p.backend}`),
      ['404 null'],
    );
    const controller = build([...withSpecDefault, ...svc('fallback', ['10.0.0.9'])], {
      defaultBackendService: { namespace: 'default', name: 'fallback' },
    });
    assert.deepEqual(
      pagesOf(controller.model).map((p) => `${p.label} ${p.backend}`),
      ['404 default_fallback_80', 'unavailable default_fallback_80'],
    );
    const without = build([...base, ing({ [CUSTOM_HTTP_ERRORS]: '404' })]);
    assert.deepEqual(show(without.problems), show([]));
    assert.deepEqual(
      pagesOf(without.model).map((p) => `${p.label} ${p.backend} ${p.live}`),
      ['404 null false'],
    );
  });

  it('disable-proxy-intercept-errors: the error_page lines stay, proxy_intercept_errors goes; an invalid value is ignored', async () => {
    const disabled = build([
      ...base,
      ing({ [DEFAULT_BACKEND]: 'errors', [CUSTOM_HTTP_ERRORS]: '404', [DISABLE_INTERCEPT]: 'true' }),
    ]);
    assert.deepEqual(show(disabled.problems), show([]));
    const block = locationBlock(renderText(disabled.model, 'lua'), 'a.example.com', '/app/');
    assert.doesNotMatch(block, /proxy_intercept_errors/);
    assert.match(block, /error_page 404 = @custom_default_site_404;/);
    await nginxAccepts(disabled.model);
    for (const value of ['false', 'yes']) {
      const { model, problems } = build([...base, ing({ [CUSTOM_HTTP_ERRORS]: '404', [DISABLE_INTERCEPT]: value })]);
      const field = `metadata.annotations["${DISABLE_INTERCEPT}"]`;
      assert.equal(
        problems.filter((p) => p.field === field && p.severity === 'warning').length,
        value === 'yes' ? 1 : 0,
      );
      assert.equal(problems.length, value === 'yes' ? 1 : 0, show(problems));
      assert.match(locationBlock(renderText(model, 'lua'), 'a.example.com', '/app/'), /proxy_intercept_errors on;/);
    }
  });

  it('without any default backend the named locations answer 404 themselves, and no endpoint is a plain 503; nginx accepts both modes', async () => {
    const { model } = build([...base, ing({ [CUSTOM_HTTP_ERRORS]: '404,503' })]);
    for (const mode of ['lua', 'static'] as const) {
      const text = renderText(model, mode);
      assert.match(text, /location @custom_default_site_404 \{\n\s+return 404;\n\s+\}/, mode);
      assert.match(text, /location @custom_default_site_503 \{\n\s+return 404;\n\s+\}/, mode);
      assert.doesNotMatch(text, /@custom_default_site_unavailable/, mode);
      const block = locationBlock(text, 'a.example.com', '/app/');
      assert.match(block, /proxy_intercept_errors on;/, mode);
      assert.doesNotMatch(block, /error_page 500|ingress_templater_unavailable/, mode);
    }
    await nginxAccepts(model);
  });

  it('invalid values are reported naming annotation and value, and ignored (as ingress-nginx): the paths serve', () => {
    for (const [annotations, key] of [
      [{ [DEFAULT_BACKEND]: 'Errors' }, DEFAULT_BACKEND],
      [{ [DEFAULT_BACKEND]: 'ns/errors' }, DEFAULT_BACKEND],
      [{ [DEFAULT_BACKEND]: 'a;b' }, DEFAULT_BACKEND],
      [{ [DEFAULT_BACKEND]: 'errors', [CUSTOM_HTTP_ERRORS]: '404,200' }, CUSTOM_HTTP_ERRORS],
      [{ [CUSTOM_HTTP_ERRORS]: 'all' }, CUSTOM_HTTP_ERRORS],
    ] as [Record<string, string>, string][]) {
      const { model, problems } = build([...base, ing(annotations)]);
      const refused = problems.filter((p) => p.field === `metadata.annotations["${key}"]`);
      assert.equal(refused.length, 1, show(problems));
      assert.equal(refused[0]!.severity, 'warning');
      assert.match(refused[0]!.message, /invalid value.*ignored, its default applies/);
      assert.equal(server(model).locations[0]!.denied, null);
    }
  });

  it('each location knows its own Service (X-Service-Name) and whether it can answer; pages are per Ingress on each host', () => {
    const res = [
      ...base,
      ing({ [DEFAULT_BACKEND]: 'errors', [CUSTOM_HTTP_ERRORS]: '404,503' }, 'one', 'a.example.com', [
        ['/app', 'web'],
        ['/empty', 'empty'],
        ['/missing', 'missing'],
      ]),
      ing({ [DEFAULT_BACKEND]: 'errors', [CUSTOM_HTTP_ERRORS]: '500' }, 'two', 'a.example.com', [['/two', 'web']]),
    ];
    const { model } = build(res);
    const byPath = new Map(server(model).locations.map((l) => [l.path, l.ann['custom-errors'] as LocationErrors]));
    assert.deepEqual(
      [
        byPath.get('/app')!.serviceName,
        byPath.get('/app')!.servicePort,
        byPath.get('/app')!.deadStatic,
        byPath.get('/app')!.missing,
      ],
      ['web', '80', false, false],
    );
    assert.deepEqual(
      [byPath.get('/empty')!.serviceName, byPath.get('/empty')!.deadStatic, byPath.get('/empty')!.missing],
      ['empty', true, false],
    );
    assert.deepEqual(
      [
        byPath.get('/missing')!.serviceName,
        byPath.get('/missing')!.servicePort,
        byPath.get('/missing')!.deadStatic,
        byPath.get('/missing')!.missing,
      ],
      // the Service as the path names it, even missing: ingress-nginx sent X-Service-Name all the same
      ['missing', '80', true, true],
    );
    assert.equal(byPath.get('/two')!.has500, true);
    // both Ingresses get their named locations on the shared host, not only the oldest
    assert.deepEqual(
      pagesOf(model).map((p) => `${p.name} ${p.label}`),
      ['one 404', 'one 503', 'one unavailable', 'two 500', 'two unavailable'],
    );
  });

  it('renders intercepts and named locations with the ingress-nginx headers; nginx accepts both modes', async () => {
    const { model } = build([
      ...base,
      ing({ [DEFAULT_BACKEND]: 'errors', [CUSTOM_HTTP_ERRORS]: '404,418' }, 'site', 'a.example.com', [
        ['/app', 'web'],
        ['/empty', 'empty'],
      ]),
      ing({}, 'open', 'b.example.com', [['/', 'web']]),
    ]);
    const lua = renderText(model, 'lua');
    const app = locationBlock(lua, 'a.example.com', '/app/');
    assert.match(
      app,
      /set \$ingress_templater_service_name "web";\n\s+set \$ingress_templater_service_port "80";\n\s+proxy_intercept_errors on;\n\s+error_page 404 = @custom_default_site_404;\n\s+error_page 418 = @custom_default_site_418;/,
    );
    assert.match(
      app,
      /error_page 500 = @custom_default_site_unavailable;/,
      "lua: the balancer's 500 goes to the default backend",
    );
    assert.doesNotMatch(app, /proxy_set_header/);
    const page = lua.slice(
      lua.indexOf('location @custom_default_site_404 {'),
      lua.indexOf('location @custom_default_site_418 {'),
    );
    for (const host of [
      'X-Code "404"',
      'X-Format $http_accept',
      'X-Original-URI $request_uri',
      'X-Namespace "default"',
      'X-Ingress-Name "site"',
      'X-Service-Name $ingress_templater_service_name',
      'X-Service-Port $ingress_templater_service_port',
      'X-Request-ID $ingress_templater_request_id',
    ]) {
      assert.ok(page.includes(`proxy_set_header ${host};`), `${host}\n${page}`);
    }
    assert.match(
      page,
      /set \$proxy_upstream_name "default_errors_80";\n\s+rewrite \^ \/ break;\n\s+proxy_pass http:\/\/upstream_balancer;/,
    );
    const unavailable = lua.slice(lua.indexOf('location @custom_default_site_unavailable {'));
    assert.match(unavailable, /if \(\$upstream_addr != ""\) \{\n\s+return 500;\n\s+\}/);
    assert.match(unavailable, /X-Code "503"/);
    assert.doesNotMatch(locationBlock(lua, 'b.example.com', '/'), /error_page|intercept/);

    const stat = renderText(model, 'static');
    assert.doesNotMatch(locationBlock(stat, 'a.example.com', '/app/'), /error_page 500/);
    assert.match(
      locationBlock(stat, 'a.example.com', '/empty/'),
      /error_page 503 = @custom_default_site_unavailable;/,
      'static: no endpoint -> default backend',
    );
    assert.match(stat, /location @custom_default_site_404 \{[^}]*proxy_pass http:\/\/default_errors_80;/);
    await nginxAccepts(model);
  });

  it('static mode: a default backend without endpoints answers the status itself', async () => {
    const { model } = build([...base, ing({ [DEFAULT_BACKEND]: 'empty', [CUSTOM_HTTP_ERRORS]: '404' })]);
    const stat = renderText(model, 'static');
    assert.match(stat, /location @custom_default_site_404 \{[^}]*return 404;\n\s+\}/);
    assert.doesNotMatch(stat, /proxy_pass http:\/\/default_empty_80/);
    await nginxAccepts(model);
  });
});
