// Every annotation family, in rendering order. Add a family here and create its partials.
import type { Family } from './family.js';
import { proxyFamily } from './proxy.js';
import { headersFamily } from './headers.js';
import { serviceUpstreamFamily } from './service-upstream.js';
import { accessFamily } from './access.js';
import { rateLimitFamily } from './rate-limit.js';
import { corsFamily } from './cors.js';
import { sslFamily } from './ssl.js';
import { backendProtocolFamily } from './backend-protocol.js';
import { proxySslFamily } from './proxy-ssl.js';
import { authTlsFamily } from './auth-tls.js';
import { authFamily } from './auth.js';
import { externalAuthFamily } from './external-auth.js';
import { errorsFamily } from './custom-errors.js';
import { snippetFamily } from './snippets.js';
import { canaryFamily } from './canary.js';
import { redirectFamily } from './redirect.js';
import { rewriteFamily } from './rewrite.js';

export const FAMILIES: Family[] = [
  proxyFamily,
  headersFamily,
  serviceUpstreamFamily,
  accessFamily,
  rateLimitFamily,
  corsFamily,
  sslFamily,
  backendProtocolFamily,
  proxySslFamily,
  authTlsFamily,
  authFamily,
  externalAuthFamily,
  errorsFamily,
  canaryFamily,
  redirectFamily,
  snippetFamily, // configuration-snippet: late in the location, as ingress-nginx places it
  rewriteFamily, // render/view.ts renders it last: its "rewrite ... break" ends a location's set/if/return
];
