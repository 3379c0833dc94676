// Backend certificate authentication (proxy-ssl-*), with ingress-nginx's names, values and defaults:
// proxy-ssl-secret names a Secret ("namespace/name", the Ingress's namespace) with ca.crt, the CAs that
// sign the backend's certificate, and optionally tls.crt/tls.key, a client certificate nginx presents to
// the backend. The other annotations take effect only with proxy-ssl-secret, as in ingress-nginx.
// Rendered per location by templates/partials/ann-proxy-ssl.hbs, with the grpc_ssl_* directives when the
// Ingress's backend-protocol is GRPCS (gRPC has its own TLS settings).
import type { Ingress, Problem } from '../../resources.js';
import { protocolOf } from './backend-protocol.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, PREFIX } from './values.js';
import { caSecret, keyPair, namedSecret, secretProblem } from './tls-secrets.js';

export const PROXY_SSL_SECRET = `${PREFIX}proxy-ssl-secret`;
export const PROXY_SSL_VERIFY = `${PREFIX}proxy-ssl-verify`;
export const PROXY_SSL_VERIFY_DEPTH = `${PREFIX}proxy-ssl-verify-depth`;
export const PROXY_SSL_NAME = `${PREFIX}proxy-ssl-name`;
export const PROXY_SSL_SERVER_NAME = `${PREFIX}proxy-ssl-server-name`;
export const PROXY_SSL_PROTOCOLS = `${PREFIX}proxy-ssl-protocols`;
export const PROXY_SSL_KEYS = [
  PROXY_SSL_SECRET,
  PROXY_SSL_VERIFY,
  PROXY_SSL_VERIFY_DEPTH,
  PROXY_SSL_NAME,
  PROXY_SSL_SERVER_NAME,
  PROXY_SSL_PROTOCOLS,
] as const;

// the protocol names nginx's *_ssl_protocols know, as ingress-nginx validates them
export const SSL_PROTOCOLS: readonly string[] = ['SSLv2', 'SSLv3', 'TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];
export const MAX_VERIFY_DEPTH = 100;
// a DNS name as the backend's certificate names it (the name is checked against the SAN, and sent as SNI)
const SSL_NAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*$/;

export interface ProxySslConfig {
  module: 'proxy' | 'grpc'; // directive prefix: proxy_ssl_* or grpc_ssl_*
  secret: string; // namespace/name, for the comment
  caFile: string; // managed file: ca.crt
  certFile: string | null; // managed file: tls.crt + tls.key, the client certificate for the backend
  verify: 'on' | 'off'; // default off
  verifyDepth: number; // default 1
  name: string | null; // proxy_ssl_name; nginx's default is the upstream name
  serverName: 'on' | 'off'; // SNI, default off
  protocols: string[] | null; // null: nginx's default (TLSv1 TLSv1.1 TLSv1.2 in nginx 1.22, as ingress-nginx)
}

const onOff = (v: string): 'on' | 'off' | undefined =>
  v.trim() === 'on' ? 'on' : v.trim() === 'off' ? 'off' : undefined;

export function parseProxySsl(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): ProxySslConfig | undefined {
  const annotations = ing.meta.annotations;
  const before = problems.length;
  const bad = (key: string, expected: string) =>
    problems.push(annotationProblem(ing, key, annotations[key]!, expected));
  // every value is checked, with or without the Secret: an invalid one is an error either way
  let verify: 'on' | 'off' = 'off';
  if (annotations[PROXY_SSL_VERIFY] !== undefined) {
    const raw = onOff(annotations[PROXY_SSL_VERIFY]);
    if (raw) verify = raw;
    else bad(PROXY_SSL_VERIFY, '"on" or "off"');
  }
  let serverName: 'on' | 'off' = 'off';
  if (annotations[PROXY_SSL_SERVER_NAME] !== undefined) {
    const given = onOff(annotations[PROXY_SSL_SERVER_NAME]);
    if (given) serverName = given;
    else bad(PROXY_SSL_SERVER_NAME, '"on" or "off"');
  }
  let verifyDepth = 1;
  if (annotations[PROXY_SSL_VERIFY_DEPTH] !== undefined) {
    const depth = annotations[PROXY_SSL_VERIFY_DEPTH].trim();
    if (/^[0-9]{1,3}$/.test(depth) && Number(depth) >= 1 && Number(depth) <= MAX_VERIFY_DEPTH)
      verifyDepth = Number(depth);
    else bad(PROXY_SSL_VERIFY_DEPTH, `an integer 1-${MAX_VERIFY_DEPTH}`);
  }
  let name: string | null = null;
  if (annotations[PROXY_SSL_NAME] !== undefined) {
    const sslName = annotations[PROXY_SSL_NAME].trim();
    if (SSL_NAME.test(sslName)) name = sslName.toLowerCase();
    else bad(PROXY_SSL_NAME, 'a DNS name such as backend.example.com');
  }
  let protocols: string[] | null = null;
  if (annotations[PROXY_SSL_PROTOCOLS] !== undefined) {
    const words = annotations[PROXY_SSL_PROTOCOLS].trim().split(/ +/).filter(Boolean);
    if (words.length && words.every((w) => SSL_PROTOCOLS.includes(w))) protocols = [...new Set(words)].sort();
    else bad(PROXY_SSL_PROTOCOLS, `protocols separated by spaces, of ${SSL_PROTOCOLS.join(' ')}`);
  }

  const found = caSecret(ing, ctx, PROXY_SSL_SECRET, PROXY_SSL_KEYS, "the CAs of the backend's certificate", problems);
  if (!found) return undefined;
  const { ref, secret, ca } = found;
  const pair = keyPair(secret);
  if (typeof pair === 'string') {
    problems.push(secretProblem(ing, PROXY_SSL_SECRET, ref, `no usable client certificate: ${pair}`));
    return undefined;
  }
  // the Ingress is denied: nothing to render
  if (problems.slice(before).some((p) => p.severity === 'error')) return undefined;
  if (verify === 'on' && name === null) {
    problems.push({
      ...annotationProblem(ing, PROXY_SSL_VERIFY, annotations[PROXY_SSL_VERIFY]!, ''),
      severity: 'warning',
      message: `proxy-ssl-verify is on without proxy-ssl-name: the backend's certificate is checked against the upstream name (upstream_balancer, or namespace-service-port without the Lua balancer), as in ingress-nginx; set proxy-ssl-name to a name the certificate carries`,
    });
  }
  return {
    module: protocolOf(ing) === 'GRPCS' ? 'grpc' : 'proxy',
    secret: `${ref.namespace}/${ref.name}`,
    caFile: ctx.file('proxy-ssl-ca.crt', ca.pem),
    certFile: pair ? ctx.file('proxy-ssl-client.pem', pair.pem) : null,
    verify,
    verifyDepth,
    name,
    serverName,
    protocols,
  };
}

export const proxySslFamily: Family<'proxy-ssl', ProxySslConfig> = {
  name: 'proxy-ssl',
  fallback: 'ownBackend',
  keys: PROXY_SSL_KEYS,
  // the backend's certificate checks must not be skipped
  failClosed: true,
  location: parseProxySsl,
  references: (ing) => namedSecret(ing, PROXY_SSL_SECRET),
};
