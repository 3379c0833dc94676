// Client certificate authentication (auth-tls-*), with ingress-nginx's names, values and defaults. It
// applies per host, as in ingress-nginx: the oldest Ingress of a host with a valid auth-tls-secret decides
// ssl_client_certificate / ssl_verify_client / ssl_verify_depth for the whole server
// (templates/partials/srv-auth-tls.hbs). nginx itself refuses a missing or unverifiable certificate
// with 400. Upstreams get ssl-client-verify, ssl-client-subject-dn, ssl-client-issuer-dn and, with
// auth-tls-pass-certificate-to-upstream, ssl-client-cert: the http level sends them from variables that
// are empty (header not sent, whatever the client sent) except in servers with client authentication
// (model/proxy-headers.ts; the maps are in templates/partials/http.hbs).
//
// An invalid value or an unusable Secret denies the Ingress's paths (503) rather than serving them
// without the client authentication they asked for. Plain HTTP to a host with client authentication is
// always redirected to HTTPS (render/view.ts), so no request reaches its backends without the check.
import type { Ingress, Problem } from '../../resources.js';
import type { AnnotationContext, Family } from './family.js';
import { annotationProblem, parseBool, PREFIX } from './values.js';
import { caSecret, namedSecret } from './tls-secrets.js';

export const AUTH_TLS_SECRET = `${PREFIX}auth-tls-secret`;
export const AUTH_TLS_VERIFY_CLIENT = `${PREFIX}auth-tls-verify-client`;
export const AUTH_TLS_VERIFY_DEPTH = `${PREFIX}auth-tls-verify-depth`;
export const AUTH_TLS_PASS_CERTIFICATE = `${PREFIX}auth-tls-pass-certificate-to-upstream`;
export const AUTH_TLS_KEYS = [
  AUTH_TLS_SECRET,
  AUTH_TLS_VERIFY_CLIENT,
  AUTH_TLS_VERIFY_DEPTH,
  AUTH_TLS_PASS_CERTIFICATE,
] as const;

export type VerifyClient = 'on' | 'off' | 'optional' | 'optional_no_ca';
export const VERIFY_CLIENT: readonly VerifyClient[] = ['on', 'off', 'optional', 'optional_no_ca'];
export const MAX_VERIFY_DEPTH = 100;

export interface AuthTlsConfig {
  secret: string; // namespace/name, for the comment
  caFile: string; // managed file: the CA bundle from ca.crt
  verifyClient: VerifyClient; // default on
  check: boolean; // verifyClient is not off: request certificates and tell the upstream
  verifyDepth: number; // default 1
  passCertificate: boolean; // ssl-client-cert header, default false
}

/** Everything the annotations say, validated; undefined without auth-tls-secret or when anything is invalid. */
export function parseAuthTls(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): AuthTlsConfig | undefined {
  const annotations = ing.meta.annotations;
  const before = problems.length;
  const bad = (key: string, expected: string) =>
    problems.push(annotationProblem(ing, key, annotations[key]!, expected));
  let verifyClient: VerifyClient = 'on';
  if (annotations[AUTH_TLS_VERIFY_CLIENT] !== undefined) {
    const value = annotations[AUTH_TLS_VERIFY_CLIENT].trim();
    if ((VERIFY_CLIENT as readonly string[]).includes(value)) verifyClient = value as VerifyClient;
    else bad(AUTH_TLS_VERIFY_CLIENT, VERIFY_CLIENT.join(', '));
  }
  let verifyDepth = 1;
  if (annotations[AUTH_TLS_VERIFY_DEPTH] !== undefined) {
    const raw = annotations[AUTH_TLS_VERIFY_DEPTH].trim();
    if (/^[0-9]{1,3}$/.test(raw) && Number(raw) >= 1 && Number(raw) <= MAX_VERIFY_DEPTH) verifyDepth = Number(raw);
    else bad(AUTH_TLS_VERIFY_DEPTH, `an integer 1-${MAX_VERIFY_DEPTH}`);
  }
  let passCertificate = false;
  if (annotations[AUTH_TLS_PASS_CERTIFICATE] !== undefined) {
    const parsed = parseBool(annotations[AUTH_TLS_PASS_CERTIFICATE]);
    if (parsed !== undefined) passCertificate = parsed;
    else bad(AUTH_TLS_PASS_CERTIFICATE, '"true" or "false"');
  }
  const found = caSecret(
    ing,
    ctx,
    AUTH_TLS_SECRET,
    AUTH_TLS_KEYS,
    'the CAs client certificates are checked against',
    problems,
  );
  if (!found) return undefined;
  const { ref, ca } = found;
  if (problems.slice(before).some((p) => p.severity === 'error')) return undefined;
  return {
    secret: `${ref.namespace}/${ref.name}`,
    caFile: ctx.file('auth-tls-ca.crt', ca.pem),
    verifyClient,
    check: verifyClient !== 'off',
    verifyDepth,
    passCertificate,
  };
}

export const authTlsFamily: Family<'auth-tls', never, AuthTlsConfig> = {
  name: 'auth-tls',
  keys: AUTH_TLS_KEYS,
  // client certificate checks that cannot be set up must not be skipped
  failClosed: true,
  references: (ing) => namedSecret(ing, AUTH_TLS_SECRET),
  // reports every problem, so an invalid annotation denies the Ingress's paths; renders nothing per location
  location(ing, ctx, problems) {
    parseAuthTls(ing, ctx, problems);
    return undefined;
  },
  // the same parse, its problems already reported by location()
  server(ing, ctx) {
    return parseAuthTls(ing, ctx, []);
  },
  // a server checking client certificates serves HTTPS only
  httpsOnly: (config) => config.check === true,
};
