// The migration report: for every Ingress, which nginx.ingress.kubernetes.io annotations are honoured,
// which are ignored and why, and which values were rejected. Pure: manifests + problems in, rows out.
import type { Problem } from './resources.js';
import { objectRef } from './resources.js';
import { SUPPORTED } from './model/annotations/index.js';
import { isIgnoredValue, PREFIX } from './model/annotations/values.js';
import { MIRROR_VARIABLES } from './model/annotations/mirror.js';
import { isRefusal } from './model/annotations/admission.js';
import { isServed } from './model/index.js';
import type { ClassOptions, ModelInput } from './model/index.js';
import type { NginxFeatures } from './render/index.js';

export { PREFIX };

// Annotations of the best-known controller left out on purpose, with the reason a user should read.
export const LEFT_OUT: Readonly<Record<string, string>> = {
  'enable-modsecurity':
    'ModSecurity is not supported: a web application firewall with its own rule language is left to a component of its own (Debian packages libnginx-mod-http-modsecurity, but this controller does not configure it)',
  'enable-owasp-core-rules': 'ModSecurity is not supported (see enable-modsecurity)',
  'modsecurity-snippet': 'ModSecurity is not supported (see enable-modsecurity)',
  'modsecurity-transaction-id': 'ModSecurity is not supported (see enable-modsecurity)',
  'enable-opentelemetry': 'needs the OpenTelemetry nginx module',
  'opentelemetry-trust-incoming-span': 'needs the OpenTelemetry nginx module',
  'enable-opentracing': 'OpenTracing was removed from the original controller too',
  'opentracing-trust-incoming-span': 'OpenTracing was removed from the original controller too',
  'enable-influxdb': 'removed from the original controller; use /metrics',
  'global-rate-limit': 'needs a shared memcached; use limit-rps/limit-rpm (per instance)',
  'global-rate-limit-window': 'needs a shared memcached',
  'global-rate-limit-key': 'needs a shared memcached',
  'global-rate-limit-ignored-cidrs': 'needs a shared memcached',
  'stream-snippet': 'TCP/UDP streams are out of scope; snippets are off by default anyway',
  'auth-snippet': 'a snippet inside the auth location: refused like every snippet (CVE-2025-1974 class)',
};

// Annotations honoured with a deliberate difference from the best-known controller, said on their row
// (README: Safety) so that a migrating user reads it before the day it matters.
export const DIFFERENCES: Readonly<Record<string, string>> = {
  canary:
    'differs from ingress-nginx: applies only to a main Ingress of the same namespace (settings ConfigMap allow-cross-namespace-canary: "true" for the old behaviour)',
  'connection-proxy-header':
    'differs from ingress-nginx: any comma-separated list of Connection options is taken (ingress-nginx: "close" or "keep-alive" only)',
  'from-to-www-redirect':
    "differs from ingress-nginx: the redirect's port is the one the client named (Host), else 80/443, not the port nginx listens on, which behind a port-mapping load balancer clients cannot reach",
  'mirror-target': `differs from ingress-nginx: the host must be written out (no variable), the path and query may use only ${MIRROR_VARIABLES.map((name) => `$${name}`).join(', ')}; a host name that does not resolve drops the mirror with a warning`,
  'mirror-request-body':
    'differs from ingress-nginx: "off" also drops Content-Length from the copy (ingress-nginx kept it, so the mirror waited for a body that never came)',
  'proxy-redirect-from':
    'differs from ingress-nginx: "default" is ignored with a warning (nginx takes proxy_redirect default only after proxy_pass); "off" and FROM/TO work as there',
};

// What an nginx without headers-more (a sidecar's, a custom build) cannot do as ingress-nginx did.
const WITHOUT_HEADERS_MORE =
  'sent with add_header: nginx has no headers-more module (Debian: libnginx-mod-http-headers-more-filter), so a header the backend also sends is sent twice instead of replaced';

/**
 * What this nginx lacks that ingress-nginx had, one line each, for the log and `validate`'s report:
 * without headers-more, Server is sent, HSTS and add-headers/custom-headers add a copy beside the backend's.
 */
export function nginxNotes(features: NginxFeatures): string[] {
  if (features.headersMore) return [];
  return [
    'nginx has no headers-more module (Debian: libnginx-mod-http-headers-more-filter): "Server: nginx" is sent (ingress-nginx cleared it), and HSTS, add-headers and custom-headers use add_header, which adds a second header when the backend sends its own instead of replacing it',
  ];
}

export type Status = 'honoured' | 'rejected' | 'ignored';

export interface ReportRow {
  ingress: string; // namespace/name
  file: string;
  served: boolean;
  annotation: string;
  value: string;
  status: Status;
  detail: string;
}

/** features: the nginx the config is for (honoured annotations it can only approximate say so). */
export function migrationReport(
  input: ModelInput,
  classes: ClassOptions,
  problems: Problem[],
  features?: NginxFeatures,
): ReportRow[] {
  const approximated: Record<string, string> =
    features && !features.headersMore ? { 'custom-headers': WITHOUT_HEADERS_MORE } : {};
  const ingressClasses = input.list('IngressClass');
  const rows: ReportRow[] = [];
  const refs = new Map(input.list('Ingress').map((i) => [i, objectRef(i)]));
  const byIngress = [...refs.keys()].sort((a, b) => (refs.get(a)! < refs.get(b)! ? -1 : 1));
  // each annotation looks up its problems here: a search of every problem per annotation was quadratic
  // (500 Ingresses of 100 paths, each path with a warning: 4 s for the report alone)
  const index = problemIndex(problems);
  for (const ing of byIngress) {
    const served = isServed(ing, ingressClasses, classes);
    // refused whole by the ConfigMap (annotation-value-word-blocklist, annotations-risk-level): its other
    // annotations do nothing either
    const refusedWhole = index.refused.has(refs.get(ing)!);
    const ref = refs.get(ing)!;
    for (const key of Object.keys(ing.meta.annotations).sort()) {
      if (!key.startsWith(PREFIX)) continue;
      rows.push({
        ingress: `${ing.meta.namespace}/${ing.meta.name}`,
        file: ing.source.file,
        served,
        annotation: key,
        value: ing.meta.annotations[key]!,
        ...judge(ref, key, served, index, approximated, refusedWhole),
      });
    }
  }
  return rows;
}

interface ProblemIndex {
  firstError: Map<string, Problem>; // object + field -> its first error
  first: Map<string, Problem>; // object + field -> its first problem of any severity
  refused: Set<string>; // the objects the ConfigMap refuses whole (admission.ts)
}

const problemKey = (object: string | undefined, field: string | undefined) => `${object ?? ''}\n${field ?? ''}`;

function problemIndex(problems: Problem[]): ProblemIndex {
  const index: ProblemIndex = { firstError: new Map(), first: new Map(), refused: new Set() };
  for (const problem of problems) {
    if (problem.object === undefined || problem.field === undefined) continue;
    const key = problemKey(problem.object, problem.field);
    if (!index.first.has(key)) index.first.set(key, problem);
    if (isRefusal(problem)) index.refused.add(problem.object);
    // a refused value: an error, or one ignored with its default applied (Family.failClosed)
    const refused = problem.severity === 'error' || isIgnoredValue(problem);
    if (refused && !index.firstError.has(key)) index.firstError.set(key, problem);
  }
  return index;
}

function judge(
  ref: string,
  key: string,
  served: boolean,
  index: ProblemIndex,
  approximated: Readonly<Record<string, string>>,
  refusedWhole = false,
): { status: Status; detail: string } {
  if (!served) return { status: 'ignored', detail: 'the Ingress belongs to another ingress class' };
  const short = key.slice(PREFIX.length);
  if (!SUPPORTED.has(key))
    return { status: 'ignored', detail: LEFT_OUT[short] ?? 'not supported by ingress-templater' };
  const where = problemKey(ref, `metadata.annotations["${key}"]`);
  const bad = index.firstError.get(where);
  if (bad) return { status: 'rejected', detail: bad.message };
  if (refusedWhole)
    return { status: 'ignored', detail: 'the ConfigMap refuses the Ingress for another annotation: not served' };
  const warn = index.first.get(where);
  return { status: 'honoured', detail: warn ? warn.message : (approximated[short] ?? DIFFERENCES[short] ?? '') };
}

/** The report as a table, grouped by Ingress, then the notes about this nginx (nginxNotes). */
export function formatReport(rows: ReportRow[], notes: readonly string[] = []): string {
  const noteText = notes.map((note) => `note: ${note}\n`).join('');
  if (!rows.length) return `no nginx.ingress.kubernetes.io annotations found\n${noteText}`;
  const out: string[] = [];
  let current = '';
  // not Math.max(...rows): a spread of a few hundred thousand arguments overflows the stack
  const width = rows.reduce((m, r) => Math.max(m, r.annotation.length - PREFIX.length), -Infinity) + 2;
  for (const row of rows) {
    if (row.ingress !== current) {
      current = row.ingress;
      out.push(
        `${out.length ? '\n' : ''}Ingress ${row.ingress} (${row.file})${row.served ? '' : ', not served by this controller'}`,
      );
      out.push(`  ${'ANNOTATION'.padEnd(width)}${'STATUS'.padEnd(10)}DETAIL`);
    }
    out.push(`  ${row.annotation.slice(PREFIX.length).padEnd(width)}${row.status.padEnd(10)}${row.detail}`.trimEnd());
  }
  const count = (s: Status) => rows.filter((r) => r.status === s).length;
  out.push(
    `\n${rows.length} annotations: ${count('honoured')} honoured, ${count('ignored')} ignored, ${count('rejected')} rejected`,
  );
  return `${out.join('\n')}\n${noteText}`;
}
