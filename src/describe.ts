// `describe`: Ingresses as `kubectl describe ingress` prints them, with each backend's ready endpoints
// (from the manifests, or from what a running nginx balances over when live endpoints are given).
import type { Ingress, IngressBackend } from './resources.js';
import { byAge, isServed, lookupFor, resolveBackend } from './model/index.js';
import type { Backend, ClassOptions, ModelInput } from './model/index.js';
import { hostPort } from './nginx/endpoints.js';

export interface DescribeOptions {
  classes: ClassOptions;
  resolved?: ReadonlyMap<string, string[]>;
  backends?: readonly Backend[]; // the plan's backends (src/plan.ts): endpoints as run pushes them
  live?: ReadonlyMap<string, string[]>; // backend name -> "address:port" as nginx has them
}

export function describeIngresses(
  input: ModelInput,
  options: DescribeOptions,
  only?: { namespace: string; name: string },
): string[] {
  const lookup = lookupFor(input, (host) => options.resolved?.get(host));
  const planned = new Map((options.backends ?? []).map((b) => [b.name, b]));
  const classes = input.list('IngressClass');
  return input
    .list('Ingress')
    .filter((i) => !only || (i.meta.namespace === only.namespace && i.meta.name === only.name))
    .sort(byAge)
    .map((ing) =>
      describeOne(ing, isServed(ing, classes, options.classes), (ref) =>
        backendText(ing, ref, lookup, planned, options.live),
      ),
    );
}

function backendText(
  ing: Ingress,
  ref: IngressBackend,
  lookup: ReturnType<typeof lookupFor>,
  planned: ReadonlyMap<string, Backend>,
  live?: ReadonlyMap<string, string[]>,
): string {
  if (!ref.service) return `${ref.resource?.kind ?? 'Resource'}/${ref.resource?.name ?? '?'}`;
  const label = `${ref.service.name}:${ref.service.port.number ?? ref.service.port.name}`;
  const resolution = resolveBackend(ing.meta.namespace, ref, lookup);
  if (!resolution.ok) return `${label} (<error: ${resolution.reason}>)`;
  // the name only comes from here; the endpoints are the plan's (endpoint policy, limits, ExternalNames)
  // whenever the plan has the backend (an Ingress of another class, or a path another one took, has none)
  const eps = live
    ? (live.get(resolution.backend.name) ?? [])
    : (planned.get(resolution.backend.name) ?? resolution.backend).endpoints.map(hostPort);
  return `${label} (${eps.length ? eps.join(',') : '<none>'})`;
}

function describeOne(ing: Ingress, served: boolean, backend: (ref: IngressBackend) => string): string {
  const lines: string[] = [];
  const field = (k: string, v: string) => lines.push(`${(`${k}:`).padEnd(18)}${v}`);
  field('Name', ing.meta.name);
  field('Labels', mapText(ing.meta.labels));
  field('Namespace', ing.meta.namespace);
  field('Address', '');
  field(
    'Ingress Class',
    (ing.className ?? ing.meta.annotations['kubernetes.io/ingress.class'] ?? '<none>') +
      (served ? '' : '  (not served by this controller)'),
  );
  field('Default backend', ing.defaultBackend ? backend(ing.defaultBackend) : '<default>');
  if (ing.tls.length) {
    lines.push('TLS:');
    for (const tls of ing.tls) lines.push(`  ${tls.secretName ?? 'SNI routes'} terminates ${tls.hosts.join(',')}`);
  }
  lines.push('Rules:');
  const rows: [string, string, string][] = [
    ['Host', 'Path', 'Backends'],
    ['----', '----', '--------'],
  ];
  for (const rule of ing.rules) {
    rows.push([rule.host ?? '*', '', '']);
    for (const ingressPath of rule.paths) rows.push(['', ingressPath.path, backend(ingressPath.backend)]);
  }
  const w0 = Math.max(...rows.map((r) => r[0].length)) + 2;
  const w1 = Math.max(...rows.map((r) => r[1].length)) + 2;
  for (const [host, pathText, backends] of rows)
    lines.push(`  ${host.padEnd(w0)}${pathText.padEnd(w1)}${backends}`.trimEnd());
  field('Annotations', mapText(ing.meta.annotations, '                  '));
  field('Events', '<none>');
  return `${lines.join('\n')}\n`;
}

function mapText(entries: Record<string, string>, indent = ''): string {
  const keys = Object.keys(entries).sort();
  return keys.length ? keys.map((k, i) => `${i ? indent : ''}${k}: ${entries[k]}`).join('\n') : '<none>';
}
