// Annotation families. Each module parses and validates its own keys; this file knows which keys exist
// so that unsupported ones are reported instead of silently ignored.
import type { Ingress, Problem } from '../../resources.js';
import { problemAt } from '../../resources.js';
import { PREFIX, toleratedProblem } from './values.js';
import { SSL_REDIRECT, sslRedirect } from './ssl.js';
import { BALANCE_KEYS, parseBalance } from './balance.js';
import { FAMILIES } from './families.js';
import type { AnnotationContext, AnyFamily } from './family.js';
import { setConfig } from './family.js';
import type { HttpItems, LocationAnnotations, ServerAnnotations } from './families.js';
import type { Balance } from './balance.js';

export { isServed, LEGACY_CLASS_ANNOTATION } from './class.js';
export type { ClassOptions } from './class.js';
export type { Algorithm, Affinity, Balance } from './balance.js';
export { parseAlgorithm, sameBalance } from './balance.js';

export type { AnnotationContext, AnyFamily, Family, ManagedFile } from './family.js';
export { addItems, configIn, setConfig, withConfig } from './family.js';
export type { HttpItems, LocationAnnotations, ServerAnnotations } from './families.js';
export { FAMILIES } from './families.js';

export const SUPPORTED: ReadonlySet<string> = new Set([
  SSL_REDIRECT,
  ...BALANCE_KEYS,
  ...FAMILIES.flatMap((family) => family.keys),
]);

export interface IngressAnnotations {
  sslRedirect: boolean;
  balance: Balance;
  location: LocationAnnotations; // family name -> config for every location of the Ingress
  server: ServerAnnotations; // family name -> config for the Ingress's servers
  http: HttpItems; // family name -> items for the http block
  denied: string | null; // why the Ingress's paths answer 503 (an invalid location annotation)
}

export function parseAnnotations(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): IngressAnnotations {
  const defaults = ctx.settings;
  for (const key of Object.keys(ing.meta.annotations).sort()) {
    if (key.startsWith(PREFIX) && !SUPPORTED.has(key)) {
      problems.push(
        problemAt(
          ing,
          'warning',
          `metadata.annotations["${key}"]`,
          'annotation not supported by ingress-templater, ignored',
        ),
      );
    }
  }
  const first: Problem[] = [];
  const out: IngressAnnotations = {
    sslRedirect: sslRedirect(ing, defaults.sslRedirect, first),
    balance: parseBalance(ing, defaults.loadBalance, first),
    location: {},
    server: {},
    http: {},
    denied: null,
  };
  // ssl-redirect and the balancing annotations: an invalid value is ignored, as ingress-nginx ignored it
  problems.push(...first.map(toleratedProblem));
  for (const family of FAMILIES) {
    const own: Problem[] = [];
    const location = family.location?.(ing, ctx, own);
    const fromLocation = own.length;
    const server = family.server?.(ing, ctx, own);
    const http = family.http?.(ing, ctx, own);
    const kept = own.map((problem) => (deniesPaths(family, problem) ? problem : toleratedProblem(problem)));
    // a security-relevant invalid value denies the Ingress's paths rather than serving them otherwise than asked
    if (kept.slice(0, fromLocation).some((p) => p.severity === 'error') && !out.denied)
      out.denied = `invalid ${family.name} annotation`;
    problems.push(...kept);
    if (location) setConfig(out.location, family, location);
    if (server) setConfig(out.server, family, server);
    if (http?.length) setConfig(out.http, family, http);
  }
  return out;
}

/** Does this problem of a family deny the Ingress's paths (Family.failClosed)? */
function deniesPaths(family: AnyFamily, problem: Problem): boolean {
  if (family.failClosed === true) return true;
  if (!family.failClosed) return false;
  return family.failClosed.some((key) => problem.field === `metadata.annotations["${key}"]`);
}
