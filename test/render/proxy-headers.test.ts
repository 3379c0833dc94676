// Every location the controller writes that proxies (path locations, exact and regex ones, the fallback
// "location /", canary paths, gRPC, error pages, auth subrequests) sends the protected request headers
// from nginx's own values: checked on a rendered config holding all those kinds, with nginx's inheritance
// rule (a level with any proxy_set_header of its own inherits none from above, so it must repeat them all).
import assert from 'node:assert/strict';
import { AUTH_TYPE, AUTH_SECRET } from '../../src/model/annotations/auth.js';
import {
  AUTH_TLS_SECRET,
  AUTH_TLS_VERIFY_CLIENT,
  AUTH_TLS_PASS_CERTIFICATE,
} from '../../src/model/annotations/auth-tls.js';
import { BACKEND_PROTOCOL } from '../../src/model/annotations/backend-protocol.js';
import { CANARY, CANARY_WEIGHT } from '../../src/model/annotations/canary.js';
import { CUSTOM_HTTP_ERRORS, DEFAULT_BACKEND } from '../../src/model/annotations/custom-errors.js';
import { AUTH_RESPONSE_HEADERS, AUTH_URL } from '../../src/model/annotations/external-auth.js';
import { PERMANENT_REDIRECT } from '../../src/model/annotations/redirect.js';
import { USE_REGEX } from '../../src/model/annotations/rewrite.js';
import type { Model } from '../../src/model/index.js';
import { PROTECTED_HEADERS } from '../../src/model/proxy-headers.js';
import type { Resource } from '../../src/resources.js';
import { parseNginx } from '../helpers/nginx-parse.js';
import type { Directive } from '../helpers/nginx-parse.js';
import {
  backend,
  build,
  configMap,
  CONFIG_MAP_OPTION,
  endpoints,
  exact,
  ingress,
  path,
  rule,
  service,
  show,
} from '../helpers/resources.js';
import { nginxAccepts, renderText } from '../model/annotations/nginx-check.js';
import { cleanupPki, dataSecret, makeCa } from '../model/annotations/tls-fixtures.js';

// What nginx itself knows: the value each of these headers must have wherever a request is proxied.
const NGINX_VALUES: Record<string, string> = {
  'x-request-id': '$ingress_templater_request_id', // the client's own, else nginx's (a map in http.hbs)
  'x-real-ip': '$remote_addr',
  'x-forwarded-for': '$remote_addr',
  'x-forwarded-host': '$best_http_host',
  'x-forwarded-port': '$ingress_templater_forwarded_port',
  'x-forwarded-proto': '$scheme',
  'x-forwarded-scheme': '$scheme',
  'x-scheme': '$scheme',
  'ssl-client-verify': '$ingress_templater_ssl_client_verify',
  'ssl-client-subject-dn': '$ingress_templater_ssl_client_s_dn',
  'ssl-client-issuer-dn': '$ingress_templater_ssl_client_i_dn',
  'ssl-client-cert': '$ingress_templater_ssl_client_cert',
};
// the variables behind the verdicts, and what may set them (srv-auth-tls.hbs, at server level only)
const VERDICT_SOURCES: Record<string, string> = {
  $ingress_templater_ssl_client_verify: '$ssl_client_verify',
  $ingress_templater_ssl_client_s_dn: '$ssl_client_s_dn',
  $ingress_templater_ssl_client_i_dn: '$ssl_client_i_dn',
  $ingress_templater_ssl_client_cert: '$ssl_client_escaped_cert',
};

interface Walked {
  where: string; // server and location, for messages
  kind: string;
  location: Directive[];
  headers: Map<string, string[]>; // effective: lower-case name -> values, in order
  passRequestHeaders: boolean;
}

const children = (block: Directive[] | undefined, name: string) => (block ?? []).filter((d) => d.name === name);

function effective(levels: Directive[][], directive: string): Map<string, string[]> {
  // nginx: the innermost level with any such directive has the whole list; the others are not inherited
  const own = [...levels].reverse().find((l) => children(l, directive).length > 0) ?? [];
  const out = new Map<string, string[]>();
  for (const found of children(own, directive)) {
    const key = found.args[0]!.toLowerCase();
    out.set(key, [...(out.get(key) ?? []), found.args[1] ?? '']);
  }
  return out;
}

/** Every location of every server that proxies (proxy_pass or grpc_pass), with its effective headers. */
function walk(text: string): Walked[] {
  const http = parseNginx(text).find((d) => d.name === 'http')!.block!;
  const out: Walked[] = [];
  for (const server of children(http, 'server')) {
    const name = children(server.block, 'server_name')
      .map((d) => d.args[0])
      .join(' ');
    for (const loc of children(server.block, 'location')) {
      const body = loc.block!;
      const grpc = children(body, 'grpc_pass').length > 0;
      if (!grpc && children(body, 'proxy_pass').length === 0) continue;
      const arg = loc.args.join(' ');
      const kind = arg.startsWith('@custom_')
        ? 'error page'
        : arg.startsWith('= /_external-auth-')
          ? 'auth subrequest'
          : grpc
            ? 'grpc'
            : arg.startsWith('~*')
              ? 'regex'
              : arg.startsWith('=')
                ? 'exact'
                : 'prefix';
      const off = children(body, grpc ? 'grpc_pass_request_headers' : 'proxy_pass_request_headers').some(
        (d) => d.args[0] === 'off',
      );
      out.push({
        where: `server ${name} location ${arg}`,
        kind,
        location: body,
        headers: effective([http, server.block!, body], grpc ? 'grpc_set_header' : 'proxy_set_header'),
        passRequestHeaders: !off,
      });
    }
  }
  return out;
}

const value = (walked: Walked, name: string) => {
  const sent = walked.headers.get(name.toLowerCase());
  assert.ok(sent, `${walked.where} (${walked.kind}) sends no ${name}: the client's own would pass`);
  assert.equal(sent.length, 1, `${walked.where} (${walked.kind}) sets ${name} ${sent.length} times (nginx sends each)`);
  return sent[0]!;
};

describe('render: protected request headers in every location kind', () => {
  let model: Model;
  before(function () {
    this.timeout(30_000);
    const ca = makeCa('client CA');
    const app = (name: string, ips: string[]): Resource[] => [
      service({ name }),
      endpoints({ name, subsets: ips.length ? [{ ready: ips }] : [] }),
    ];
    const built = build(
      [
        ...app('web', ['10.0.0.1']),
        ...app('web-v2', ['10.0.0.2']),
        ...app('errors', ['10.0.0.3']),
        ...app('empty', []),
        ...app('grpc', ['10.0.0.4']),
        dataSecret('client-ca', { 'ca.crt': ca.cert }),
        dataSecret('users', { auth: `alice:$apr1$abcdefgh$0123456789abcdefghijkl\n` }),
        configMap({ 'proxy-set-headers': 'default/custom-headers' }),
        configMap({ 'X-Team': 'payments' }, 'custom-headers'),
        // the mTLS host: auth-tls (optional), basic auth, error pages, a path without endpoints
        ingress({
          name: 'mtls',
          created: '2024-01-01T00:00:00Z',
          annotations: {
            [AUTH_TLS_SECRET]: 'default/client-ca',
            [AUTH_TLS_VERIFY_CLIENT]: 'optional',
            [AUTH_TLS_PASS_CERTIFICATE]: 'true',
            [AUTH_TYPE]: 'basic',
            [AUTH_SECRET]: 'users',
            [DEFAULT_BACKEND]: 'errors',
            [CUSTOM_HTTP_ERRORS]: '404,502',
          },
          rules: [rule('mtls.example.com', path('/app', 'web'), exact('/exact', 'web'), path('/gone', 'empty'))],
        }),
        // another tenant: external auth with response headers, on a regex host, a canary, a redirect, gRPC
        ingress({
          name: 'ext',
          created: '2024-01-02T00:00:00Z',
          annotations: {
            [AUTH_URL]: 'http://10.9.9.9:9000/verify',
            [AUTH_RESPONSE_HEADERS]: 'X-User, Authorization',
            [USE_REGEX]: 'true',
          },
          rules: [rule('ext.example.com', path('/api/v[0-9]+', 'web'))],
        }),
        ingress({
          name: 'main',
          created: '2024-01-03T00:00:00Z',
          rules: [rule('canary.example.com', path('/', 'web'))],
        }),
        ingress({
          name: 'main-canary',
          created: '2024-01-04T00:00:00Z',
          annotations: { [CANARY]: 'true', [CANARY_WEIGHT]: '50' },
          rules: [rule('canary.example.com', path('/', 'web-v2'))],
        }),
        ingress({
          name: 'moved',
          created: '2024-01-05T00:00:00Z',
          annotations: { [PERMANENT_REDIRECT]: 'https://elsewhere.example.com/' },
          rules: [rule('moved.example.com', path('/old', 'web'))],
        }),
        ingress({
          name: 'rpc',
          created: '2024-01-06T00:00:00Z',
          annotations: { [BACKEND_PROTOCOL]: 'GRPC' },
          rules: [rule('rpc.example.com', path('/svc', 'grpc'))],
        }),
        // a host without "/": the fallback location proxies to the default backend
        ingress({
          name: 'fallback',
          created: '2024-01-07T00:00:00Z',
          defaultBackend: backend('web'),
          rules: [rule('fallback.example.com', path('/only', 'web'))],
        }),
      ],
      CONFIG_MAP_OPTION,
    );
    assert.deepEqual(
      built.problems.filter((p) => p.severity === 'error'),
      [],
      show(built.problems),
    );
    model = built.model;
  });
  after(cleanupPki);

  for (const balancer of ['lua', 'static'] as const) {
    it(`${balancer}: each proxying location sends every protected header once, from nginx's own values`, () => {
      const text = renderText(model, balancer);
      const all = walk(text);
      const kinds = new Set(all.map((w) => w.kind));
      for (const kind of ['prefix', 'exact', 'regex', 'grpc', 'error page', 'auth subrequest'])
        assert.ok(kinds.has(kind), `no ${kind} location rendered: ${[...kinds].join(', ')}`);
      assert.ok(
        all.some((w) => w.where.startsWith('server fallback.example.com location /')),
        'the fallback location',
      );
      assert.ok(
        all.some((w) => w.where.startsWith('server canary.example.com')),
        'the canary host',
      );
      for (const walked of all) {
        for (const header of PROTECTED_HEADERS) {
          if (walked.kind === 'grpc' && !header.grpc) continue;
          // with proxy_pass_request_headers off no client header passes: an absent header is not sent
          if (!walked.passRequestHeaders && !walked.headers.has(header.name.toLowerCase())) continue;
          value(walked, header.name);
        }
        for (const [name, expected] of Object.entries(NGINX_VALUES))
          assert.equal(value(walked, name), expected, `${walked.where} (${walked.kind}): ${name}`);
        // the auth-response variables may only carry names no protected header has
        for (const [name, values] of walked.headers) {
          if (values.some((v) => v.startsWith('$ingress_templater_auth_')))
            assert.ok(!PROTECTED_HEADERS.some((h) => h.name.toLowerCase() === name), name);
        }
      }
      // the ssl-client-* variables come from nginx's TLS variables only, set at server level
      const setters = parseNginx(text).find((d) => d.name === 'http')!.block!;
      const sets: string[] = [];
      const visit = (ds: Directive[], depth: string) => {
        for (const directive of ds) {
          if (
            ['set', 'auth_request_set', 'map', 'set_by_lua_block'].includes(directive.name) &&
            directive.args.some((a) => a in VERDICT_SOURCES)
          ) {
            const block = directive.block?.map((x) => `${x.name} ${JSON.stringify(x.args)}`).join('; ') ?? '';
            sets.push(`${depth} ${directive.name} ${directive.args.join(' ')}${block ? ` { ${block} }` : ''}`);
          }
          if (directive.block)
            visit(
              directive.block,
              directive.name === 'server' ? 'server' : directive.name === 'location' ? 'location' : depth,
            );
        }
      };
      visit(setters, 'http');
      for (const line of sets) {
        const match = /^(\w+) (\w+) (\S+) (.*)$/.exec(line)!;
        if (match[2] === 'map')
          assert.match(line, /^http map \$https \$ingress_templater_ssl_client_\w+ \{ default \[""\] \}$/, line);
        else
          assert.ok(
            match[1] === 'server' && match[2] === 'set' && VERDICT_SOURCES[match[3]!] === match[4],
            `verdict variable set from elsewhere: ${line}`,
          );
      }
      assert.ok(
        sets.some((s) => s === 'server set $ingress_templater_ssl_client_s_dn $ssl_client_s_dn'),
        sets.join('\n'),
      );
    });

    it(`${balancer}: error pages send none of the client's headers and no credentials; the auth service gets the request described`, () => {
      const all = walk(renderText(model, balancer));
      const pages = all.filter((w) => w.kind === 'error page');
      assert.ok(pages.length >= 3, pages.map((w) => w.where).join());
      for (const walked of pages) {
        assert.equal(walked.passRequestHeaders, false, `${walked.where}: proxy_pass_request_headers off`);
        for (const name of ['authorization', 'cookie', 'x-user', 'proxy-authorization'])
          assert.equal(walked.headers.get(name), undefined, `${walked.where} sends ${name}`);
        for (const [name, values] of walked.headers)
          assert.ok(
            values.every((v) => !v.startsWith('$ingress_templater_auth_')),
            `${walked.where}: ${name}`,
          );
        assert.match(value(walked, 'X-Code'), /^[0-9]{3}$/);
        assert.equal(value(walked, 'X-Format'), '$http_accept');
        assert.equal(value(walked, 'X-Namespace'), 'default');
        assert.equal(value(walked, 'X-Team'), 'payments', 'the ConfigMap headers are for every backend');
      }
      const subrequests = all.filter((w) => w.kind === 'auth subrequest');
      assert.equal(subrequests.length, 1);
      const auth = subrequests[0]!;
      assert.equal(auth.passRequestHeaders, true, "the auth service sees the client's credentials");
      assert.equal(value(auth, 'X-Original-Method'), '$request_method');
      assert.equal(value(auth, 'Host'), '10.9.9.9:9000');
      assert.equal(auth.headers.get('x-user'), undefined, 'the auth-response variables are for backends');
      // every other proxying location passes the client's headers, with the auth steps' variables
      for (const walked of all.filter((x) => x.kind !== 'error page' && x.kind !== 'auth subrequest')) {
        assert.equal(walked.passRequestHeaders, true, walked.where);
        assert.equal(value(walked, 'Authorization'), '$ingress_templater_auth_authorization', walked.where);
        assert.equal(value(walked, 'X-User'), '$ingress_templater_auth_x_user', walked.where);
      }
      // basic auth clears Authorization for its backend in each of its locations
      const basic = all.filter(
        (x) =>
          x.where.startsWith('server mtls.example.com') && x.kind !== 'error page' && !x.where.endsWith('location /'),
      );
      assert.ok(basic.length >= 3, basic.map((w) => w.where).join());
      for (const walked of basic) {
        assert.ok(
          walked.location.some(
            (d) => d.name === 'set' && d.args[0] === '$ingress_templater_auth_authorization' && d.args[1] === '',
          ),
          walked.where,
        );
      }
    });
  }

  it('nginx -t accepts the config in both balancer modes', async function () {
    this.timeout(60_000);
    await nginxAccepts(model);
  });

  // ConfigMap use-forwarded-headers, compute-full-forwarded-for and use-proxy-protocol (model/proxy-headers.ts)
  describe('with the forwarded headers trusted and the PROXY protocol', () => {
    const trusting = () => ({
      ...model,
      settings: {
        ...model.settings,
        useForwardedHeaders: true,
        computeFullForwardedFor: true,
        useProxyProtocol: true,
        proxyRealIpCidr: ['10.0.0.0/8', 'fd00::/8'],
      },
    });
    const FORWARDED_VALUES: Record<string, string> = {
      'x-forwarded-for': '$ingress_templater_full_forwarded_for',
      'x-forwarded-host': '$best_http_host',
      'x-forwarded-port': '$ingress_templater_pass_port',
      'x-forwarded-proto': '$ingress_templater_pass_scheme',
      'x-forwarded-scheme': '$ingress_templater_pass_scheme',
      'x-scheme': '$ingress_templater_pass_scheme',
      'x-real-ip': '$remote_addr',
    };

    it('every proxying location kind sends the forwarded values, the error pages and auth subrequest too', () => {
      // with headers-more: the client address reaches the real_ip module in a request header of ours
      const text = renderText(trusting(), 'lua', { tempPaths: [], headersMore: { module: null } });
      assert.match(text, /\n {4}real_ip_header X_Ingress_Templater_Client;\n/);
      const all = walk(text);
      const kinds = new Set(all.map((w) => w.kind));
      for (const kind of ['prefix', 'exact', 'regex', 'grpc', 'error page', 'auth subrequest'])
        assert.ok(kinds.has(kind), `no ${kind} location rendered: ${[...kinds].join(', ')}`);
      for (const walked of all) {
        for (const [name, expected] of Object.entries(FORWARDED_VALUES))
          assert.equal(value(walked, name), expected, `${walked.where} (${walked.kind}): ${name}`);
        // ...which no backend, auth service or error page gets
        assert.equal(value(walked, 'X_Ingress_Templater_Client'), '', walked.where);
      }
    });

    it('without headers-more the PROXY protocol address is the client, and there is no header of ours', () => {
      const text = renderText(trusting(), 'lua');
      assert.match(text, /\n {4}real_ip_header proxy_protocol;\n/);
      assert.doesNotMatch(text, /X_Ingress_Templater_Client/);
    });

    it('every listen socket expects the PROXY protocol; the internal server does not', () => {
      const text = renderText(trusting(), 'lua');
      const listens = parseNginx(text)
        .find((d) => d.name === 'http')!
        .block!.filter((d) => d.name === 'server')
        .flatMap((server) => children(server.block, 'listen').map((d) => d.args));
      // renderOptions: HTTP on 8080, HTTPS on 8443, nginx's internal server on 10246
      const internal = (args: string[]) => args[0]!.endsWith(':10246');
      assert.ok(listens.filter((args) => !internal(args)).length >= 4, JSON.stringify(listens));
      assert.ok(listens.some(internal), JSON.stringify(listens));
      for (const args of listens) assert.equal(args.includes('proxy_protocol'), !internal(args), args.join(' '));
    });

    it('nginx -t accepts it', async function () {
      this.timeout(60_000);
      await nginxAccepts(trusting());
    });
  });
});
