// The adversarial corpus of test/security/corpus.test.ts: each case carries one injection attempt through
// one field or annotation of an otherwise valid set of manifests (see base() in the test).

export const ANNOTATION = 'nginx.ingress.kubernetes.io/';

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
  mutate: (docs: Docs) => void;
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
  // a repetition such as {1,3} is a regex path's own (accepted, quoted); a brace that is none is refused
  braceClose: '/api(.*)}',
  braceOpen: '/api{(.*)',
  braceBlock: '/api{1}}location{',
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
  'relative-redirects': undefined,
  'preserve-trailing-slash': undefined,
  'use-port-in-redirects': undefined,
  'auth-url': undefined,
  'auth-signin': { [`${ANNOTATION}auth-url`]: 'http://10.0.0.9:8080/check' },
  'auth-realm': { [`${ANNOTATION}auth-type`]: 'basic', [`${ANNOTATION}auth-secret`]: 'htpasswd' },
  'auth-response-headers': { [`${ANNOTATION}auth-url`]: 'http://10.0.0.9:8080/check' },
  'auth-method': { [`${ANNOTATION}auth-url`]: 'http://10.0.0.9:8080/check' },
  'auth-type': undefined,
  'auth-secret': { [`${ANNOTATION}auth-type`]: 'basic' },
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
  'cors-allow-origin': { [`${ANNOTATION}enable-cors`]: 'true' },
  'cors-allow-methods': { [`${ANNOTATION}enable-cors`]: 'true' },
  'cors-allow-headers': { [`${ANNOTATION}enable-cors`]: 'true' },
  'cors-expose-headers': { [`${ANNOTATION}enable-cors`]: 'true' },
  'canary-by-header': { [`${ANNOTATION}canary`]: 'true' },
  'canary-by-header-value': { [`${ANNOTATION}canary`]: 'true', [`${ANNOTATION}canary-by-header`]: 'X-Canary' },
  'canary-by-header-pattern': { [`${ANNOTATION}canary`]: 'true', [`${ANNOTATION}canary-by-header`]: 'X-Canary' },
  'canary-by-cookie': { [`${ANNOTATION}canary`]: 'true' },
  'canary-weight': { [`${ANNOTATION}canary`]: 'true' },
  'session-cookie-name': { [`${ANNOTATION}affinity`]: 'cookie' },
  'session-cookie-path': { [`${ANNOTATION}affinity`]: 'cookie' },
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
  'session-cookie-expires': { [`${ANNOTATION}affinity`]: 'cookie' },
  'session-cookie-max-age': { [`${ANNOTATION}affinity`]: 'cookie' },
  affinity: undefined,
  'limit-rpm': undefined,
  'limit-burst-multiplier': { [`${ANNOTATION}limit-rps`]: '10' },
  'proxy-buffering': undefined,
  'proxy-buffers-number': undefined,
  'proxy-next-upstream-timeout': undefined,
  'ssl-redirect': undefined,
  'force-ssl-redirect': undefined,
  'from-to-www-redirect': undefined,
  'use-regex': undefined,
  'permanent-redirect-code': { [`${ANNOTATION}permanent-redirect`]: 'https://example.com/' },
  'auth-secret-type': { [`${ANNOTATION}auth-type`]: 'basic', [`${ANNOTATION}auth-secret`]: 'htpasswd' },
  'auth-tls-verify-depth': undefined,
  'auth-tls-pass-certificate-to-upstream': undefined,
  'proxy-ssl-verify': undefined,
  'proxy-ssl-verify-depth': undefined,
  'proxy-ssl-server-name': undefined,
  'cors-allow-credentials': { [`${ANNOTATION}enable-cors`]: 'true' },
  'cors-max-age': { [`${ANNOTATION}enable-cors`]: 'true' },
  'enable-cors': undefined,
  'service-upstream': undefined,
  // issue 13: request mirroring
  'mirror-target': undefined,
  'mirror-host': { [`${ANNOTATION}mirror-target`]: 'http://10.0.0.9/' },
  'mirror-request-body': { [`${ANNOTATION}mirror-target`]: 'http://10.0.0.9/' },
  'canary-weight-total': { [`${ANNOTATION}canary`]: 'true' },
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
  'preserve-trailing-slash':
    'a boolean whose invalid value keeps the default with a warning, as ingress-nginx; never rendered',
  'use-port-in-redirects':
    'a boolean whose invalid value keeps the default with a warning, as ingress-nginx; never rendered',
  'auth-realm': 'printable ASCII without quote, backslash and $, rendered with str inside quotes',
  'canary-by-header-value': 'printable ASCII, only in the Lua push as JSON, never in nginx.conf',
  'canary-by-header-pattern':
    'a checked PCRE subset of printable ASCII, only in the Lua push as JSON, never in nginx.conf',
};

function setPath(docs: Docs, path: string, pathType = 'Prefix'): void {
  const ingressPath = docs.ingress.spec.rules[0].http.paths[0];
  ingressPath.path = path;
  ingressPath.pathType = pathType;
}

export function buildCorpus(): Case[] {
  const cases: Case[] = [];
  const add = (c: Case) => cases.push(c);

  for (const [label, payload] of Object.entries(HOST_PAYLOADS)) {
    add({
      name: `rule host (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.spec.rules[0].host = payload;
      },
    });
    add({
      name: `tls host (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.spec.tls[0].hosts = [payload];
      },
    });
  }
  for (const [label, payload] of Object.entries(PATH_PAYLOADS)) {
    for (const pathType of ['Exact', 'Prefix', 'ImplementationSpecific']) {
      if (pathType !== 'Prefix' && !['newline', 'semicolon', 'closeBrace', 'dquote', 'varHost', 'nul'].includes(label))
        continue;
      add({ name: `path ${pathType} (${label})`, payload, mutate: (d) => setPath(d, payload, pathType) });
    }
  }
  for (const [label, payload] of Object.entries(REGEX_PATH_PAYLOADS)) {
    add({
      name: `regex path with use-regex (${label})`,
      payload,
      with: { [`${ANNOTATION}use-regex`]: 'true' },
      mutate: (d) => setPath(d, payload, 'ImplementationSpecific'),
    });
  }
  for (const [label, payload] of Object.entries(NAME_PAYLOADS)) {
    add({
      name: `service name (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.spec.rules[0].http.paths[0].backend.service.name = payload;
      },
    });
    add({
      name: `port name (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.spec.rules[0].http.paths[0].backend.service.port = { name: payload };
      },
    });
    add({
      name: `tls secretName (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.spec.tls[0].secretName = payload;
      },
    });
    add({
      name: `Secret metadata.name (${label})`,
      payload,
      mutate: (docs) => {
        docs.secret.metadata.name = payload;
        docs.ingress.spec.tls[0].secretName = payload;
      },
    });
    add({
      name: `Ingress namespace (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.metadata.namespace = payload;
      },
    });
    add({
      name: `Ingress name (${label})`,
      payload,
      mutate: (d) => {
        d.ingress.metadata.name = payload;
      },
    });
    add({
      name: `ingressClassName (${label})`,
      payload,
      mayBeIgnored: true,
      mutate: (d) => {
        d.ingress.spec.ingressClassName = payload;
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
    for (const label of ['newline', 'semicolon', 'closeBrace', 'lua']) {
      const payload = PAYLOADS[label]!;
      add({
        name: `ConfigMap ${key} (${label})`,
        payload,
        mutate: (d) => {
          d.configMap.data[key] = payload;
        },
      });
    }
  }
  // issue 13's ConfigMap keys (model/settings-*.ts): the free-text ones keep a payload as text in a quoted
  // string (a map value, the log format, gzip_disable's regex); the others refuse it
  const FREE_TEXT: Record<string, string> = {
    'block-user-agents': 'a User-Agent to match, a quoted map value',
    'block-referers': 'a Referer to match, a quoted map value',
    'log-format-upstream': 'text of the log format, in its quoted string',
    'gzip-disable': "a regex over User-Agent, gzip_disable's quoted argument",
  };
  for (const key of [
    'ssl-protocols',
    'ssl-ciphers',
    'ssl-session-timeout',
    'ssl-ecdh-curve',
    'gzip-types',
    'large-client-header-buffers',
    'proxy-next-upstream',
    'worker-shutdown-timeout',
    'block-cidrs',
    ...Object.keys(FREE_TEXT),
  ]) {
    for (const label of ['newline', 'semicolon', 'closeBrace', 'lua']) {
      const payload = PAYLOADS[label]!;
      add({
        name: `ConfigMap ${key} (${label})`,
        payload,
        ...(FREE_TEXT[key] ? { mayAccept: FREE_TEXT[key] } : {}),
        mutate: (d) => {
          d.configMap.data[key] = payload;
        },
      });
    }
  }
  for (const [ann, extra] of Object.entries(ANNOTATIONS)) {
    for (const label of ANNOTATION_PAYLOADS[ann] ?? DEFAULT_ANNOTATION_PAYLOADS) {
      const payload = PAYLOADS[label]!;
      const testCase: Case = {
        name: `annotation ${ann} (${label})`,
        payload,
        annotation: `${ANNOTATION}${ann}`,
        mutate: (d) => {
          d.ingress.metadata.annotations[`${ANNOTATION}${ann}`] = payload;
        },
      };
      if (extra) testCase.with = extra;
      if (HARMLESS_ANNOTATIONS[ann]) testCase.mayAccept = HARMLESS_ANNOTATIONS[ann];
      add(testCase);
    }
  }
  // proxy-set-headers: a ConfigMap of header name -> value sent to every backend
  for (const label of [
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
    const payload = PAYLOADS[label]!;
    const headers = (docs: Docs, data: Record<string, string>) => {
      docs.configMap.data['proxy-set-headers'] = 'shop/headers';
      docs.extra.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'headers', namespace: 'shop' }, data });
    };
    const testCase: Case = {
      name: `proxy-set-headers value (${label})`,
      payload,
      mutate: (d) => headers(d, { 'X-Custom': payload }),
    };
    // printable ASCII is a legal header value, quoted and escaped by headerValue (allowed variables only)
    if (/^[\x20-\x7e]*$/.test(payload) && payload.length <= 1024)
      testCase.mayAccept = 'a header value, quoted and escaped by headerValue';
    add(testCase);
    add({
      name: `proxy-set-headers name (${label})`,
      payload,
      mutate: (d) => headers(d, { [payload.slice(0, 200)]: 'v' }),
    });
  }
  // add-headers (settings) and custom-headers (annotation): ConfigMaps of response headers, whose values may
  // hold quotes, backslashes and "$" (escaped by the responseHeader/responseValue helpers)
  for (const label of [
    'newline',
    'cr',
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
    'tab',
    'long',
  ]) {
    const payload = PAYLOADS[label]!;
    const configMapOf = (docs: Docs, data: Record<string, string>) =>
      docs.extra.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'resp', namespace: 'shop' }, data });
    const addHeaders = (docs: Docs, data: Record<string, string>) => {
      docs.configMap.data['add-headers'] = 'shop/resp';
      configMapOf(docs, data);
    };
    const customHeaders = (docs: Docs, data: Record<string, string>) => {
      docs.configMap.data['global-allowed-response-headers'] = 'X-Custom';
      docs.ingress.metadata.annotations[`${ANNOTATION}custom-headers`] = 'resp';
      configMapOf(docs, data);
    };
    // printable ASCII up to 4096 characters is a legal response header value, escaped into its string
    const legal = /^[\x20-\x7e]{1,4096}$/.test(payload);
    const valueCase = (name: string, mutate: (docs: Docs) => void, annotation?: string): Case => ({
      name,
      payload,
      mutate,
      ...(annotation ? { annotation } : {}),
      ...(legal ? { mayAccept: 'a response header value, escaped by responseHeader/responseValue' } : {}),
    });
    add(valueCase(`add-headers value (${label})`, (d) => addHeaders(d, { 'X-Custom': payload })));
    add({
      name: `add-headers name (${label})`,
      payload,
      mutate: (d) => addHeaders(d, { [payload.slice(0, 200)]: 'v' }),
    });
    add(
      valueCase(
        `custom-headers value (${label})`,
        (d) => customHeaders(d, { 'X-Custom': payload }),
        `${ANNOTATION}custom-headers`,
      ),
    );
    add({
      name: `custom-headers name (${label})`,
      payload,
      annotation: `${ANNOTATION}custom-headers`,
      mutate: (d) => customHeaders(d, { [payload.slice(0, 200)]: 'v' }),
    });
  }
  for (const label of ['newline', 'semicolon', 'closeBrace', 'dquote', 'varHost', 'lua', 'include', 'long', 'nul']) {
    const payload = PAYLOADS[label]!;
    add({
      name: `ExternalName service (${label})`,
      payload,
      mutate: (d) => {
        d.service.spec = { type: 'ExternalName', externalName: payload, ports: [{ name: 'http', port: 80 }] };
      },
    });
    add({
      name: `EndpointSlice address (${label})`,
      payload,
      mutate: (d) => {
        d.slice.endpoints[0].addresses = [payload];
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
    ${ANNOTATION}${ann}: |
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
    const payload = '/x;\nload_module /tmp/x.so;\ncontent_by_lua_block { os.execute("id") }';
    const testCase: Case = {
      name: `YAML block scalar ${ann}`,
      payload,
      annotation: `${ANNOTATION}${ann}`,
      ingressYaml: raw(ann),
      mutate: () => {},
    };
    add(testCase);
  }
  return cases;
}
