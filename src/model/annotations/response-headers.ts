// Response headers sent to the client: the custom-headers annotation (a ConfigMap of headers for the
// Ingress's paths) and the ConfigMap key add-headers (a ConfigMap of headers for every response), as
// ingress-nginx names them.
//
// ingress-nginx set both with headers-more's more_set_headers, which replaces a header the backend sent
// rather than adding a second copy; so do we when nginx has headers-more (nginx/binary.ts), else with
// add_header (render/view.ts). Values are rendered by the responseHeader/responseValue helpers
// (render/escape.ts): the variables of RESPONSE_HEADER_VARIABLES ($msec, ${time_iso8601}...) stay
// variables, every other "$" is literal.
//
// custom-headers fails closed as ingress-nginx did: a missing ConfigMap, a bad name or value, or a name
// outside the settings' global-allowed-response-headers (empty by default: nothing allowed) denies the
// Ingress's paths (503). add-headers is the operator's own: a missing ConfigMap is a warning and a bad
// header is left out.
import type { ConfigMap, Ingress, Problem } from '../../resources.js';
import { objectRef } from '../../resources.js';
import { isProtectedHeader } from '../proxy-headers.js';
import type { AnnotationContext, Family } from './family.js';
import {
  PREFIX,
  parseNamespacedName,
  refused,
  refusedBecause,
  settingsConfigMap,
  settingsConfigMapRef,
} from './values.js';

export const CUSTOM_HEADERS = `${PREFIX}custom-headers`;

/** One response header; the value may hold the allowed nginx variables. */
export interface ResponseHeader {
  name: string;
  value: string;
}

/** A location's custom-headers. */
export interface CustomHeadersConfig {
  configMap: string; // namespace/name, for the comment
  headers: ResponseHeader[];
}

/** The settings' add-headers, one http item. */
export interface AddHeaders {
  headers: ResponseHeader[];
}

// ingress-nginx's header names (letters, digits, '-', '_')
const RESPONSE_HEADER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
// printable ASCII (no CR, LF or other control character can split the response), not empty: an empty
// value would make more_set_headers clear the header
const RESPONSE_HEADER_VALUE = /^[\x20-\x7e]{1,4096}$/;

/** Why a header cannot be sent, or null. */
function headerProblem(name: string, value: string): string | null {
  if (!RESPONSE_HEADER_NAME.test(name))
    return `${JSON.stringify(name)} is not a header name (letters, digits, "-", "_")`;
  // the request headers the controller sets, and the connection's own (Content-Length, Transfer-Encoding...)
  if (isProtectedHeader(name)) return `header ${name} is set by nginx or the controller itself`;
  if (!RESPONSE_HEADER_VALUE.test(value.trim()))
    return `header ${name}: invalid value ${JSON.stringify(value).slice(0, 80)} (expected 1-4096 printable ASCII characters)`;
  return null;
}

/** A ConfigMap's headers in key order, and why each refused one was refused. */
function headersOf(cm: ConfigMap): { headers: ResponseHeader[]; refusedHeaders: { key: string; why: string }[] } {
  const headers: ResponseHeader[] = [];
  const refusedHeaders: { key: string; why: string }[] = [];
  const seen = new Set<string>();
  for (const key of Object.keys(cm.data).sort()) {
    const value = cm.data[key]!;
    const why =
      headerProblem(key, value) ??
      (seen.has(key.toLowerCase()) ? `header ${key} appears twice (header names are case-insensitive)` : null);
    if (why) refusedHeaders.push({ key, why });
    else {
      seen.add(key.toLowerCase());
      headers.push({ name: key, value: value.trim() });
    }
  }
  return { headers, refusedHeaders };
}

/** "name" (the Ingress's namespace) or "namespace/name" of the annotation's ConfigMap. */
function configMapRef(ing: Ingress): { namespace: string; name: string } | undefined {
  const value = ing.meta.annotations[CUSTOM_HEADERS];
  return value === undefined ? undefined : parseNamespacedName(value, ing.meta.namespace);
}

export function parseCustomHeaders(
  ing: Ingress,
  ctx: AnnotationContext,
  problems: Problem[],
): CustomHeadersConfig | undefined {
  const value = ing.meta.annotations[CUSTOM_HEADERS];
  if (value === undefined) return undefined;
  const ref = configMapRef(ing);
  if (!ref) {
    problems.push(refused(ing, CUSTOM_HEADERS, value, 'a ConfigMap name, or namespace/name'));
    return undefined;
  }
  // ingress-nginx's documentation: only ConfigMaps of the Ingress's namespace
  if (ref.namespace !== ing.meta.namespace) {
    problems.push(
      refused(
        ing,
        CUSTOM_HEADERS,
        value,
        `a ConfigMap in the Ingress's namespace ${ing.meta.namespace} (ConfigMaps of other namespaces are refused)`,
      ),
    );
    return undefined;
  }
  const configMap = `${ref.namespace}/${ref.name}`;
  const cm = ctx.configMap(ref.namespace, ref.name);
  if (!cm) {
    problems.push(refusedBecause(ing, CUSTOM_HEADERS, `ConfigMap ${configMap} not found`));
    return undefined;
  }
  const { headers, refusedHeaders } = headersOf(cm);
  const allowed = new Set(ctx.settings.globalAllowedResponseHeaders.map((name) => name.toLowerCase()));
  const notAllowed = headers.filter((header) => !allowed.has(header.name.toLowerCase())).map((header) => header.name);
  const reasons = [
    ...refusedHeaders.map((entry) => entry.why),
    ...(notAllowed.length
      ? [
          `header(s) ${notAllowed.join(', ')} not in the settings' global-allowed-response-headers (${ctx.settings.globalAllowedResponseHeaders.join(',') || 'empty'})`,
        ]
      : []),
  ];
  if (reasons.length) {
    problems.push(refusedBecause(ing, CUSTOM_HEADERS, `ConfigMap ${configMap}: ${reasons.join('; ')}`));
    return undefined;
  }
  return headers.length ? { configMap, headers } : undefined;
}

/** The response headers of the ConfigMap named by the settings' add-headers ("namespace/name"). */
export function addHeaders(
  ref: string | null,
  ctx: Pick<AnnotationContext, 'configMap'>,
  problems: Problem[],
): ResponseHeader[] {
  const cm = settingsConfigMap(ref, 'add-headers', 'no response headers are added', ctx, problems);
  if (!cm) return [];
  const { headers, refusedHeaders } = headersOf(cm);
  const where = { file: cm.source.file, line: cm.source.line, object: objectRef(cm) };
  for (const { key, why } of refusedHeaders)
    problems.push({ severity: 'error', ...where, field: `data.${key}`, message: `${why}; header not sent` });
  return headers;
}

export const responseHeadersFamily: Family<'response-headers', CustomHeadersConfig, never, AddHeaders> = {
  name: 'response-headers',
  keys: [CUSTOM_HEADERS],
  // custom-headers denied in ingress-nginx (LocationDenied)
  failClosed: true,
  location: parseCustomHeaders,
  references(ing) {
    const ref = configMapRef(ing);
    // another namespace's ConfigMap is refused (parseCustomHeaders): not fetched either
    return ref && ref.namespace === ing.meta.namespace ? [{ kind: 'ConfigMap', ...ref }] : [];
  },
  fromSettings(ctx, problems) {
    const headers = addHeaders(ctx.settings.addHeaders, ctx, problems);
    return headers.length ? [{ headers }] : [];
  },
  settingsReferences: (settings) => settingsConfigMapRef(settings.addHeaders),
  responseHeaders: (items) => items.flatMap((item) => item.headers),
};
