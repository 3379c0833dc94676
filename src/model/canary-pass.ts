// The canary pass: a pure function from the model built from the main Ingresses, plus the canary
// Ingresses, to the model with canaries attached. A canary Ingress has no locations of its own; for
// each of its host+path rules that a main Ingress routes, its backend becomes the canary of the main
// backend there: Backend.canary names it with the rules, the controller pushes both backends, and the
// Lua balancer decides per request. Nothing here reaches nginx.conf, so changing the rules is a push.
import type { Ingress, Problem } from '../resources.js';
import { objectRef } from '../resources.js';
import { parseBalance, sameBalance } from './annotations/balance.js';
import { CANARY, parseCanary } from './annotations/canary.js';
import { resolveBackend } from './backends.js';
import type { BackendLookup } from './backends.js';
import { endpointProblems } from './endpoint-problems.js';
import type { Settings } from './settings.js';
import type { Backend, Canary, Location, Model } from './routing.js';

export interface CanaryInput {
  ingresses: Ingress[]; // the served canary Ingresses (isCanaryIngress), oldest first
  lookup: BackendLookup;
  settings: Settings;
  balancer?: 'lua' | 'static'; // static: nginx balances; canaries are reported and not applied
}

const NOT_APPLIED = '; the canary is not applied, the main Ingress keeps serving all traffic';
const MAX_LISTED = 5; // other paths named in one "also applies to" warning

export function applyCanaries(model: Model, input: CanaryInput, problems: Problem[]): Model {
  if (input.ingresses.length === 0) return model;
  // copies: the model passed in stays as it was
  const backends = new Map<string, Backend>(model.backends.map((b) => [b.name, { ...b }]));
  const covered = new Set<string>(); // main backend + host + match + path that a canary rule names
  const firstFor = new Map<string, Ingress>(); // main backend -> the canary Ingress that took it
  // host + match + path -> the main location there (the first, as a search of the servers found it); one
  // search per canary path was quadratic in the paths of a host
  let locations: Map<string, Location> | undefined;
  const locationAt = () => {
    if (locations) return locations;
    locations = new Map();
    for (const server of model.servers) {
      for (const location of server.locations) {
        const key = `${server.host}\n${location.match}\n${location.path}`;
        if (!locations.has(key)) locations.set(key, location);
      }
    }
    return locations;
  };

  for (const ing of input.ingresses) {
    const id = `${ing.meta.namespace}/${ing.meta.name}`;
    const where = (field?: string) => ({
      file: ing.source.file,
      line: ing.source.line,
      object: objectRef(ing),
      ...(field ? { field } : {}),
    });
    const parsed = parseCanary(ing, problems);
    // a canary's own backend balances as its load-balance, upstream-hash-by and affinity annotations
    // say; an invalid one leaves the canary out, like an invalid canary annotation
    const own: Problem[] = [];
    const balance = parseBalance(ing, input.settings.loadBalance, own);
    const invalid = own.some((p) => p.severity === 'error');
    problems.push(
      ...own.map((p) => (p.severity === 'error' ? { ...p, message: p.message.replace(/;[^;]*$/, NOT_APPLIED) } : p)),
    );
    if (!parsed.ok || invalid) continue;
    if (input.balancer === 'static') {
      problems.push({
        severity: 'warning',
        ...where(),
        message:
          'canary routing needs the Lua balancer (--balancer lua, nginx with ngx_lua); in static mode the canary is not applied and the main backend serves all traffic',
      });
      continue;
    }
    if (ing.defaultBackend) {
      problems.push({
        severity: 'warning',
        ...where('spec.defaultBackend'),
        message: 'ignored on a canary Ingress: only its rules become canaries',
      });
    }

    ing.rules.forEach((rule, ri) => {
      const host = rule.host ?? '';
      rule.paths.forEach((pathRule, pi) => {
        const field = `spec.rules[${ri}].http.paths[${pi}]`;
        const match = pathRule.pathType === 'Exact' ? 'exact' : 'prefix';
        const path =
          match === 'prefix' && pathRule.path.length > 1 ? pathRule.path.replace(/\/+$/, '') || '/' : pathRule.path;
        const what = `${host || '(any host)'} ${pathRule.pathType} ${pathRule.path}`;
        const loc = locationAt().get(`${host}\n${match}\n${path}`);
        if (!loc) {
          problems.push({
            severity: 'error',
            ...where(`${field}.path`),
            message: `no main Ingress routes ${what}: a canary needs one with the same host and path; this path is not served`,
          });
          return;
        }
        // tenant isolation: one namespace never splits another's traffic (ingress-nginx matched canaries
        // by host and path alone, so a canary-weight 100 in any namespace took over any host)
        const mainNamespace = loc.ingress.slice(0, loc.ingress.indexOf('/'));
        if (mainNamespace !== ing.meta.namespace && !input.settings.allowCrossNamespaceCanary) {
          // on the canary annotation, so that validate's migration report shows it as a difference
          problems.push({
            severity: 'error',
            ...where(`metadata.annotations["${CANARY}"]`),
            message: `${field} (${what}) is routed by Ingress ${loc.ingress} of another namespace: unlike ingress-nginx, a canary applies only to a main Ingress of its own namespace (the settings ConfigMap key allow-cross-namespace-canary: "true" allows it)${NOT_APPLIED}`,
          });
          return;
        }
        if (loc.backend === null) {
          problems.push({
            severity: 'warning',
            ...where(`${field}.backend`),
            message: `the main Ingress ${loc.ingress} has no usable backend for ${what} (it answers 503); the canary is not applied there`,
          });
          return;
        }
        const resolved = resolveBackend(ing.meta.namespace, pathRule.backend, input.lookup, balance);
        if (!resolved.ok) {
          problems.push({
            severity: 'warning',
            ...where(`${field}.backend`),
            message: `${resolved.reason}; the canary is not applied to ${what}, the main backend serves all traffic`,
          });
          return;
        }
        const alt = backends.get(resolved.backend.name);
        if (alt && (alt.namespace !== resolved.backend.namespace || alt.service !== resolved.backend.service)) {
          problems.push({
            severity: 'error',
            ...where(`${field}.backend`),
            message: `backend name ${resolved.backend.name} is already used by Service ${alt.namespace}/${alt.service}; the canary is not applied`,
          });
          return;
        }
        const main = backends.get(loc.backend)!;
        if (resolved.backend.name === main.name) {
          problems.push({
            severity: 'warning',
            ...where(`${field}.backend`),
            message: `the canary's backend is the main backend ${main.name} itself: nothing to split`,
          });
          return;
        }
        const canary: Canary = { backend: resolved.backend.name, ingress: id, ...parsed.rules };
        const taken = main.canary;
        if (taken && (taken.ingress !== id || taken.backend !== canary.backend)) {
          problems.push({
            severity: 'error',
            ...where(`${field}.backend`),
            message: `backend ${main.name} (${what}, Ingress ${loc.ingress}) already has the canary ${taken.backend} of Ingress ${taken.ingress} (older, or first by namespace/name); a backend takes one canary, this one is not applied there`,
          });
          return;
        }
        if (!alt) {
          if (resolved.issues)
            problems.push(...endpointProblems(resolved.issues, resolved.backend, ing, `${field}.backend`));
          backends.set(resolved.backend.name, resolved.backend);
          if (resolved.backend.endpoints.length === 0) {
            problems.push({
              severity: 'warning',
              ...where(`${field}.backend`),
              message: `canary backend ${resolved.backend.name} has no ready endpoints; the main backend serves all traffic until it has some`,
            });
          }
        } else if (!sameBalance(alt.balance, balance)) {
          problems.push({
            severity: 'warning',
            ...where(`${field}.backend`),
            message: `backend ${alt.name} is balanced as an older Ingress says (${JSON.stringify(alt.balance)}); this canary's load-balancing annotations do not apply to it`,
          });
        }
        main.canary = canary;
        firstFor.set(main.name, ing);
        covered.add(`${main.name}\n${host}\n${match}\n${path}`);
      });
    });
  }

  // the canary is a property of the main backend: other paths proxied to it are split as well
  const others = new Map<string, string[]>();
  const listed = (name: string) => others.get(name) ?? others.set(name, []).get(name)!;
  for (const srv of model.servers) {
    for (const each of srv.locations) {
      const target = each.backend ? backends.get(each.backend) : undefined;
      if (target?.canary && !covered.has(`${target.name}\n${srv.host}\n${each.match}\n${each.path}`)) {
        listed(target.name).push(`${srv.host || '(any host)'} ${each.path} (Ingress ${each.ingress})`);
      }
    }
    const fb = srv.fallback.backend ? backends.get(srv.fallback.backend) : undefined;
    if (fb?.canary && !srv.locations.some((l) => l.match === 'prefix' && l.path === '/')) {
      listed(fb.name).push(`${srv.host || '(any host)'} default backend (Ingress ${srv.fallback.ingress})`);
    }
  }
  for (const [name, list] of others) {
    const ing = firstFor.get(name)!;
    const shown = [...new Set(list)];
    problems.push({
      severity: 'warning',
      file: ing.source.file,
      line: ing.source.line,
      object: objectRef(ing),
      message: `the canary applies to backend ${name} wherever it is used, so these requests are split too: ${shown.slice(0, MAX_LISTED).join(', ')}${shown.length > MAX_LISTED ? ` and ${shown.length - MAX_LISTED} more` : ''}`,
    });
  }

  return {
    ...model,
    backends: [...backends.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
  };
}
