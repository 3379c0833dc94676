// The adversarial corpus of test/security/corpus.test.ts: each case carries one injection attempt through
// one field or annotation of an otherwise valid set of manifests (see base() in the test).

export const A = 'nginx.ingress.kubernetes.io/';

/** A manifest set as plain objects, changed in place by a case. */
// biome-ignore-start lint/suspicious/noExplicitAny: cases rewrite these documents freely
export interface Docs {
  configMap: { data: Record<string, string> };
  service: any;
  slice: any;
  secret: any;
  ingress: any;
  /** more documents: the main Ingress of a canary */
  extra: any[];
}
// biome-ignore-end lint/suspicious/noExplicitAny: cases rewrite these documents freely

export interface Case {
  name: string;
  payload: string;
  /** extra annotations present in both the baseline and the malicious manifests (what the field needs) */
  with?: Record<string, string>;
  mutate: (d: Docs) => void;
  /** the Ingress may also be left out silently (not ours): ingressClassName */
  mayBeIgnored?: boolean;
  /** accepted values are harmless here (why) */
  mayAccept?: string;
  /** the annotation under test: an error must name it */
  annotation?: string;
  /** raw YAML text of the Ingress document instead of the object */
  ingressYaml?: (payload: string) => string;
}

const LONG = 'a'.repeat(10_000);

// Payloads: each tries to end the value, the directive or the block and add nginx config of its own.
export const PAYLOADS: Record<string, string> = {
  newline: 'x\npwned_directive on;',
  cr: 'x\rpwned_directive on;',
  crlf: 'x\r\ninclude /etc/passwd;',
  semicolon: 'x; include /etc/passwd;',
  closeBrace: 'x; } server { listen 1; include /etc/passwd; #',
  openBrace: 'x { load_module /tmp/x.so; }',
  hash: 'x # ssl_engine pwned',
  dquote: 'x" ; include /etc/passwd; "',
  squote: "x' ; include /etc/passwd; '",
  backtick: 'x`id`; ssl_engine pwned;',
  backslash: 'x\\"; include /etc/passwd; \\',
  varHost: '$host',
  varBraces: '${x}pwned',
  lua: 'x; content_by_lua_block { os.execute("id") }',
  include: 'include /etc/passwd',
  loadModule: 'load_module /tmp/x.so',
  sslEngine: 'ssl_engine pwned',
  long: LONG,
  u2028: 'x\u2028include /etc/passwd;',
  fullwidthSemi: 'x\uff1b include /etc/passwd\uff1b',
  rtl: 'x\u202eetc/passwd',
  nul: 'x\u0000; load_module /tmp/x.so;',
  tab: 'x\tssl_engine\tpwned;',
};

// Host-shaped payloads for fields that are DNS names.
export const HOST_PAYLOADS: Record<string, string> = {
  ...PAYLOADS,
  homoglyph: 'аpp.example.com', // Cyrillic a
  fullwidthDot: 'app\uff0eexample\uff0ecom',
  traversal: '../../etc/passwd',
  slash: 'a/b',
  dotdot: '..',
  upper: 'APP.example.com;',
  trailingDot: 'app.example.com.',
  ipInjection: '1.2.3.4; include /etc/passwd',
  wildcardDeep: '*.*.example.com',
  long: `${`${'a'.repeat(63)}.`.repeat(160)}com`,
};

export const NAME_PAYLOADS: Record<string, string> = {
  traversal: '../../etc/passwd',
  slash: 'a/b',
  dotdot: '..',
  dot: '.',
  newline: 'web\npwned_directive on;',
  semicolon: 'web;include',
  brace: 'web}',
  dollar: '$host',
  nul: 'web\u0000x',
  homoglyph: 'wеb', // Cyrillic e
  long: LONG,
  rtl: 'web\u202e',
};

const PATH_PAYLOADS: Record<string, string> = {
  newline: '/api\npwned_directive on;',
  semicolon: '/api;include /etc/passwd;',
  closeBrace: '/api} include /etc/passwd; location /x {',
  openBrace: '/api{',
  hash: '/api#ssl_engine',
  dquote: '/api" ; include /etc/passwd; "',
  squote: "/api';include",
  backtick: '/api`id`',
  backslash: '/api\\"',
  space: '/api include /etc/passwd',
  varHost: '/$host',
  varBraces: '/${x}',
  traversal: '/../../etc/passwd;',
  nul: '/api\u0000',
  tab: '/api\tx',
  u2028: '/api\u2028x',
  fullwidthSemi: '/api\uff1binclude',
  long: `/${LONG}`,
  relative: 'api',
};

const REGEX_PATH_PAYLOADS: Record<string, string> = {
  dollarVar: '/api/$host',
  dollarBrace: '/api/${x}',
  backslashQuote: '/api\\"; include /etc/passwd; #',
  braceQuant: '/api{1,3}',
  space: '/api(.*) include',
  newline: '/api(.*)\npwned_directive on;',
  semicolon: '/api(.*);',
  hash: '/api(.*)#',
  backslashN: '/api\\n',
  emptyClass: '/api[]',
  lua: '/api(.*)content_by_lua_block{os.execute("id")}',
  long: `/${'(a)'.repeat(3000)}`,
};

const ANNOTATIONS: Record<string, Record<string, string> | undefined> = {
  'rewrite-target': undefined,
  'app-root': undefined,
  'permanent-redirect': undefined,
  'temporal-redirect': undefined,
  'auth-url': undefined,
  'auth-signin': { [`${A}auth-url`]: 'http://10.0.0.9:8080/check' },
  'auth-realm': { [`${A}auth-type`]: 'basic', [`${A}auth-secret`]: 'htpasswd' },
  'auth-response-headers': { [`${A}auth-url`]: 'http://10.0.0.9:8080/check' },
  'auth-method': { [`${A}auth-url`]: 'http://10.0.0.9:8080/check' },
  'auth-type': undefined,
  'auth-secret': { [`${A}auth-type`]: 'basic' },
  'upstream-vhost': undefined,
  'x-forwarded-prefix': undefined,
  'proxy-body-size': undefined,
  'proxy-connect-timeout': undefined,
  'proxy-read-timeout': undefined,
  'proxy-send-timeout': undefined,
  'proxy-next-upstream': undefined,
  'proxy-next-upstream-tries': undefined,
  'proxy-buffer-size': undefined,
  'whitelist-source-range': undefined,
  'denylist-source-range': undefined,
  'limit-rps': undefined,
  'limit-connections': undefined,
  'cors-allow-origin': { [`${A}enable-cors`]: 'true' },
  'cors-allow-methods': { [`${A}enable-cors`]: 'true' },
  'cors-allow-headers': { [`${A}enable-cors`]: 'true' },
  'cors-expose-headers': { [`${A}enable-cors`]: 'true' },
  'canary-by-header': { [`${A}canary`]: 'true' },
  'canary-by-header-value': { [`${A}canary`]: 'true', [`${A}canary-by-header`]: 'X-Canary' },
  'canary-by-header-pattern': { [`${A}canary`]: 'true', [`${A}canary-by-header`]: 'X-Canary' },
  'canary-by-cookie': { [`${A}canary`]: 'true' },
  'canary-weight': { [`${A}canary`]: 'true' },
  'session-cookie-name': { [`${A}affinity`]: 'cookie' },
  'session-cookie-path': { [`${A}affinity`]: 'cookie' },
  'upstream-hash-by': undefined,
  'load-balance': undefined,
  'backend-protocol': undefined,
  'proxy-ssl-secret': undefined,
  'proxy-ssl-name': undefined,
  'proxy-ssl-protocols': undefined,
  'auth-tls-secret': undefined,
  'auth-tls-verify-client': undefined,
  'custom-http-errors': undefined,
  'default-backend': undefined,
  'session-cookie-expires': { [`${A}affinity`]: 'cookie' },
  'session-cookie-max-age': { [`${A}affinity`]: 'cookie' },
  affinity: undefined,
  'limit-rpm': undefined,
  'limit-burst-multiplier': { [`${A}limit-rps`]: '10' },
  'proxy-buffering': undefined,
  'proxy-buffers-number': undefined,
  'proxy-next-upstream-timeout': undefined,
  'ssl-redirect': undefined,
  'force-ssl-redirect': undefined,
  'from-to-www-redirect': undefined,
  'use-regex': undefined,
  'permanent-redirect-code': { [`${A}permanent-redirect`]: 'https://example.com/' },
  'auth-secret-type': { [`${A}auth-type`]: 'basic', [`${A}auth-secret`]: 'htpasswd' },
  'auth-tls-verify-depth': undefined,
  'auth-tls-pass-certificate-to-upstream': undefined,
  'proxy-ssl-verify': undefined,
  'proxy-ssl-verify-depth': undefined,
  'proxy-ssl-server-name': undefined,
  'cors-allow-credentials': { [`${A}enable-cors`]: 'true' },
  'cors-max-age': { [`${A}enable-cors`]: 'true' },
  'enable-cors': undefined,
  'service-upstream': undefined,
  'canary-weight-total': { [`${A}canary`]: 'true' },
  'configuration-snippet': undefined,
  'server-snippet': undefined,
};

// Which payloads each annotation gets: all for the free-text ones, a selection elsewhere (at least 4).
const ANNOTATION_PAYLOADS: Record<string, string[]> = {
  'auth-realm': Object.keys(PAYLOADS),
  'configuration-snippet': ['lua', 'include', 'loadModule', 'sslEngine', 'closeBrace', 'newline'],
  'server-snippet': ['lua', 'include', 'loadModule', 'sslEngine', 'closeBrace', 'newline'],
  'rewrite-target': [
    'newline',
    'semicolon',
    'dquote',
    'backslash',
    'varHost',
    'varBraces',
    'lua',
    'long',
    'nul',
    'u2028',
  ],
  'permanent-redirect': ['newline', 'semicolon', 'dquote', 'varHost', 'varBraces', 'closeBrace', 'long'],
  'auth-url': ['newline', 'semicolon', 'dquote', 'varHost', 'varBraces', 'closeBrace', 'lua'],
  'auth-signin': ['newline', 'semicolon', 'dquote', 'varBraces', 'closeBrace', 'lua', 'backslash'],
  'canary-by-header-value': ['newline', 'dquote', 'squote', 'backslash', 'varHost', 'lua', 'long', 'nul', 'u2028'],
  'canary-by-header-pattern': ['newline', 'dquote', 'backslash', 'varHost', 'lua', 'long', 'nul', 'closeBrace'],
  'upstream-hash-by': ['newline', 'semicolon', 'closeBrace', 'varBraces', 'lua', 'dquote'],
};
const DEFAULT_ANNOTATION_PAYLOADS = ['newline', 'semicolon', 'closeBrace', 'dquote', 'lua'];

// Values of ingress-nginx's free text annotations that are accepted, quoted by the helpers (str) or only
// sent to the Lua balancer as JSON, never parsed by nginx as syntax.
const HARMLESS_ANNOTATIONS: Record<string, string> = {
  'auth-realm': 'printable ASCII without quote, backslash and $, rendered with str inside quotes',
  'canary-by-header-value': 'printable ASCII, only in the Lua push as JSON, never in nginx.conf',
  'canary-by-header-pattern':
    'a checked PCRE subset of printable ASCII, only in the Lua push as JSON, never in nginx.conf',
};

function setPath(d: Docs, path: string, pathType = 'Prefix'): void {
  const p = d.ingress.spec.rules[0].http.paths[0];
  p.path = path;
  p.pathType = pathType;
}

export function buildCorpus(): Case[] {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);

  for (const [k, p] of Object.entries(HOST_PAYLOADS)) {
    add({
      name: `rule host (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.spec.rules[0].host = p;
      },
    });
    add({
      name: `tls host (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.spec.tls[0].hosts = [p];
      },
    });
  }
  for (const [k, p] of Object.entries(PATH_PAYLOADS)) {
    for (const t of ['Exact', 'Prefix', 'ImplementationSpecific']) {
      if (t !== 'Prefix' && !['newline', 'semicolon', 'closeBrace', 'dquote', 'varHost', 'nul'].includes(k)) continue;
      add({ name: `path ${t} (${k})`, payload: p, mutate: (d) => setPath(d, p, t) });
    }
  }
  for (const [k, p] of Object.entries(REGEX_PATH_PAYLOADS)) {
    add({
      name: `regex path with use-regex (${k})`,
      payload: p,
      with: { [`${A}use-regex`]: 'true' },
      mutate: (d) => setPath(d, p, 'ImplementationSpecific'),
    });
  }
  for (const [k, p] of Object.entries(NAME_PAYLOADS)) {
    add({
      name: `service name (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.spec.rules[0].http.paths[0].backend.service.name = p;
      },
    });
    add({
      name: `port name (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.spec.rules[0].http.paths[0].backend.service.port = { name: p };
      },
    });
    add({
      name: `tls secretName (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.spec.tls[0].secretName = p;
      },
    });
    add({
      name: `Secret metadata.name (${k})`,
      payload: p,
      mutate: (d) => {
        d.secret.metadata.name = p;
        d.ingress.spec.tls[0].secretName = p;
      },
    });
    add({
      name: `Ingress namespace (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.metadata.namespace = p;
      },
    });
    add({
      name: `Ingress name (${k})`,
      payload: p,
      mutate: (d) => {
        d.ingress.metadata.name = p;
      },
    });
    add({
      name: `ingressClassName (${k})`,
      payload: p,
      mayBeIgnored: true,
      mutate: (d) => {
        d.ingress.spec.ingressClassName = p;
      },
    });
  }
  add({
    name: 'Service port name (traversal)',
    payload: '../x',
    mutate: (d) => {
      d.service.spec.ports[0].name = '../x';
    },
  });
  add({
    name: 'defaultBackend service name (newline)',
    payload: PAYLOADS.newline!,
    mutate: (d) => {
      d.ingress.spec.defaultBackend = { service: { name: PAYLOADS.newline, port: { number: 80 } } };
    },
  });
  for (const key of [
    'proxy-body-size',
    'proxy-read-timeout',
    'ssl-redirect',
    'proxy-set-headers',
    'load-balance',
    'allow-snippet-annotations',
    'upstream-keepalive-connections',
    'proxy-buffer-size',
    'limit-req-status-code',
    'use-http2',
  ]) {
    for (const k of ['newline', 'semicolon', 'closeBrace', 'lua']) {
      const p = PAYLOADS[k]!;
      add({
        name: `ConfigMap ${key} (${k})`,
        payload: p,
        mutate: (d) => {
          d.configMap.data[key] = p;
        },
      });
    }
  }
  for (const [ann, extra] of Object.entries(ANNOTATIONS)) {
    for (const k of ANNOTATION_PAYLOADS[ann] ?? DEFAULT_ANNOTATION_PAYLOADS) {
      const p = PAYLOADS[k]!;
      const c: Case = {
        name: `annotation ${ann} (${k})`,
        payload: p,
        annotation: `${A}${ann}`,
        mutate: (d) => {
          d.ingress.metadata.annotations[`${A}${ann}`] = p;
        },
      };
      if (extra) c.with = extra;
      if (HARMLESS_ANNOTATIONS[ann]) c.mayAccept = HARMLESS_ANNOTATIONS[ann];
      add(c);
    }
  }
  // proxy-set-headers: a ConfigMap of header name -> value sent to every backend
  for (const k of [
    'newline',
    'semicolon',
    'closeBrace',
    'dquote',
    'backslash',
    'varHost',
    'varBraces',
    'lua',
    'include',
    'nul',
    'u2028',
    'long',
  ]) {
    const p = PAYLOADS[k]!;
    const headers = (d: Docs, data: Record<string, string>) => {
      d.configMap.data['proxy-set-headers'] = 'shop/headers';
      d.extra.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'headers', namespace: 'shop' }, data });
    };
    const c: Case = {
      name: `proxy-set-headers value (${k})`,
      payload: p,
      mutate: (d) => headers(d, { 'X-Custom': p }),
    };
    // printable ASCII without quotes, backslashes and $ is a legal header value, quoted by str
    if (!/["\\$]/.test(p) && /^[\x20-\x7e]*$/.test(p) && p.length <= 4096)
      c.mayAccept = 'a header value, quoted by str';
    add(c);
    add({ name: `proxy-set-headers name (${k})`, payload: p, mutate: (d) => headers(d, { [p.slice(0, 200)]: 'v' }) });
  }
  for (const k of ['newline', 'semicolon', 'closeBrace', 'dquote', 'varHost', 'lua', 'include', 'long', 'nul']) {
    const p = PAYLOADS[k]!;
    add({
      name: `ExternalName service (${k})`,
      payload: p,
      mutate: (d) => {
        d.service.spec = { type: 'ExternalName', externalName: p, ports: [{ name: 'http', port: 80 }] };
      },
    });
    add({
      name: `EndpointSlice address (${k})`,
      payload: p,
      mutate: (d) => {
        d.slice.endpoints[0].addresses = [p];
      },
    });
  }
  // the same attempts written as YAML text: block scalars keep raw newlines, tabs and quotes
  const raw = (ann: string) => (p: string) =>
    `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: app
  namespace: shop
  annotations:
    ${A}${ann}: |
${p
  .split('\n')
  .map((l) => `      ${l}`)
  .join('\n')}
spec:
  tls:
  - hosts: [app.example.com]
    secretName: app-tls
  rules:
  - host: app.example.com
    http:
      paths:
      - path: /api
        pathType: Prefix
        backend:
          service:
            name: web
            port:
              name: http
`;
  for (const ann of [
    'configuration-snippet',
    'server-snippet',
    'rewrite-target',
    'auth-realm',
    'upstream-vhost',
    'x-forwarded-prefix',
  ]) {
    const p = '/x;\nload_module /tmp/x.so;\ncontent_by_lua_block { os.execute("id") }';
    const c: Case = {
      name: `YAML block scalar ${ann}`,
      payload: p,
      annotation: `${A}${ann}`,
      ingressYaml: raw(ann),
      mutate: () => {},
    };
    add(c);
  }
  return cases;
}
