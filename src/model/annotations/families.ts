// Every annotation family, in parsing and rendering order. To add one: write its family file (keys,
// parse, the hooks of the passes it needs), its partials, its test, and list it here; the maps of the
// model (routing.ts) take their types from this list.
import type { AnyFamily, Family } from './family.js';
import { proxyFamily } from './proxy.js';
import { headersFamily } from './headers.js';
import { serviceUpstreamFamily } from './service-upstream.js';
import { accessFamily } from './access.js';
import { rateLimitFamily } from './rate-limit.js';
import { corsFamily } from './cors.js';
import { responseHeadersFamily } from './response-headers.js';
import { sslFamily } from './ssl.js';
import { backendProtocolFamily } from './backend-protocol.js';
import { proxySslFamily } from './proxy-ssl.js';
import { authTlsFamily } from './auth-tls.js';
import { authFamily } from './auth.js';
import { externalAuthFamily } from './external-auth.js';
import { customErrorsFamily } from './custom-errors.js';
import { snippetFamily } from './snippets.js';
import { canaryFamily } from './canary.js';
import { redirectFamily } from './redirect.js';
import { rewriteFamily } from './rewrite.js';
// ---- issue 13: mirror-target, mirror-request-body, mirror-host ----
import { mirrorFamily } from './mirror.js';
// ---- issue 13: the ssl-dh-param ConfigMap key (a Secret by name, a managed file, ssl_dhparam) ----
import { dhParamFamily } from '../settings-dhparam.js';

const LIST = [
  proxyFamily,
  headersFamily,
  serviceUpstreamFamily,
  accessFamily,
  rateLimitFamily,
  corsFamily,
  responseHeadersFamily,
  sslFamily,
  backendProtocolFamily,
  proxySslFamily,
  authTlsFamily,
  authFamily,
  externalAuthFamily,
  customErrorsFamily,
  canaryFamily,
  redirectFamily,
  // ---- issue 13: mirror (a location directive and a server-level internal location) ----
  mirrorFamily,
  // ---- issue 13: ssl-dh-param (settings only: no annotation) ----
  dhParamFamily,
  snippetFamily, // configuration-snippet: late in the location, as ingress-nginx places it
  rewriteFamily, // last: its "rewrite ... break" ends a location's set/if/return (test/model/annotations/families.test.ts)
] as const;

type Listed = (typeof LIST)[number];
// biome-ignore lint/suspicious/noExplicitAny: matches any family's other type parameters
type LocationOf<F> = F extends Family<string, infer L, any, any> ? L : never;
// biome-ignore lint/suspicious/noExplicitAny: matches any family's other type parameters
type ServerOf<F> = F extends Family<string, any, infer S, any> ? S : never;
// biome-ignore lint/suspicious/noExplicitAny: matches any family's other type parameters
type HttpOf<F> = F extends Family<string, any, any, infer H> ? H : never;

/** Family name -> config for a location. */
export type LocationAnnotations = { [F in Listed as F['name']]?: LocationOf<F> };
/** Family name -> config for a server. */
export type ServerAnnotations = { [F in Listed as F['name']]?: ServerOf<F> };
/** Family name -> items for the http block. */
export type HttpItems = { [F in Listed as F['name']]?: HttpOf<F>[] };

/** The families as the passes call them. */
export const FAMILIES: readonly AnyFamily[] = LIST;
