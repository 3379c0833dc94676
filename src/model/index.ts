// buildModel: a pure function from the store's resources to the routing model. No I/O here.
import crypto from 'node:crypto';
import type { EndpointSlice, Ingress, IngressBackend, Problem, Resource } from '../resources.js';
import { objectRef, problemAt } from '../resources.js';
import {
  addItems,
  configIn,
  FAMILIES,
  isServed,
  parseAnnotations,
  sameBalance,
  setConfig,
} from './annotations/index.js';
import type { AnnotationContext, AnyFamily, Balance, ClassOptions, ManagedFile } from './annotations/index.js';
import type { HttpItems, IngressAnnotations, LocationAnnotations } from './annotations/index.js';
import { refusals } from './annotations/admission.js';
import { resolveBackend } from './backends.js';
import { endpointProblems } from './endpoint-problems.js';
import type { EndpointPolicy } from './endpoint-policy.js';
import { isHttpPath } from '../syntax.js';
import type { BackendLookup } from './backends.js';
import { parseSettings } from './settings.js';
import type { Settings } from './settings.js';
import { certCoversHost, certificateFromSecret } from './certificates.js';
import type { Backend, Certificate, Endpoint, Location, Model, Server } from './routing.js';
import { certificateName, NameError, NameTable } from './names.js';
import { finishingOrder, locationAnnotationsFor, regexPathProblem } from './family-passes.js';

export type { Model, Server, Location, Backend, Certificate, Endpoint } from './routing.js';
export { locationsOf } from './routing.js';
export { finishingOrder } from './family-passes.js';
export { resolveBackend } from './backends.js';
export { isServed } from './annotations/index.js';
export { DEFAULT_SETTINGS } from './settings.js';
export type { Settings } from './settings.js';
export type { Algorithm, Affinity, Balance, ClassOptions, ManagedFile } from './annotations/index.js';

export interface ModelInput {
  list<K extends Resource['kind']>(kind: K): Extract<Resource, { kind: K }>[];
  get<K extends Resource['kind']>(kind: K, namespace: string, name: string): Extract<Resource, { kind: K }> | undefined;
}

export interface ModelOptions extends ClassOptions {
  configMap?: { namespace: string; name: string };
  resolved?: ReadonlyMap<string, string[]>; // ExternalName host -> addresses
  balancer?: 'lua' | 'static'; // how nginx balances; canaries need lua (static: reported, not applied)
  // the controller's own ports and addresses, which no endpoint may name (endpoint-policy.ts; src/own-listeners.ts builds it)
  endpointPolicy?: EndpointPolicy;
  // the endpoints each backend had in the last build nginx got: a backend whose new list is over the
  // limit keeps these (the model is pure, so the controller carries them over)
  lastGood?: ReadonlyMap<string, Endpoint[]>;
  // --default-backend-service NS/NAME: what answers requests no Ingress routes (ingress-nginx's flag; its
  // first port, as ingress-nginx takes it); without it, 404
  defaultBackendService?: { namespace: string; name: string };
  // --default-ssl-certificate NS/NAME: the TLS Secret served instead of the generated self-signed certificate
  // (ingress-nginx's flag): the catch-all, clients without SNI, hosts without a usable certificate of their own
  defaultSslCertificate?: { namespace: string; name: string };
}

export interface BuildResult {
  model: Model;
  problems: Problem[];
  externalNames: string[]; // hosts the controller should resolve
}

/** Services, their endpoints and resolved ExternalName addresses, as backends.ts reads them. */
export function lookupFor(
  input: ModelInput,
  resolved: BackendLookup['resolved'],
  opts: Pick<ModelOptions, 'endpointPolicy' | 'lastGood'> = {},
): BackendLookup {
  const slicesByService = new Map<string, EndpointSlice[]>();
  for (const slice of input.list('EndpointSlice')) {
    const key = `${slice.meta.namespace}/${slice.serviceName}`;
    const list = slicesByService.get(key);
    if (list) list.push(slice);
    else slicesByService.set(key, [slice]);
  }
  return {
    service: (ns, name) => input.get('Service', ns, name),
    endpoints: (ns, name) => input.get('Endpoints', ns, name),
    slices: (ns, name) => slicesByService.get(`${ns}/${name}`) ?? [],
    resolved,
    policy: opts.endpointPolicy,
    previous: (name) => opts.lastGood?.get(name),
  };
}

/** Ingresses in precedence order: oldest first, then namespace/name. */
export function byAge(left: Ingress, right: Ingress): number {
  const ta = left.meta.creationTimestamp ?? '';
  const tb = right.meta.creationTimestamp ?? '';
  if (ta !== tb) {
    // objects without a timestamp (hand-written manifests) come after those with one
    if (!ta) return 1;
    if (!tb) return -1;
    return Date.parse(ta) - Date.parse(tb) || (ta < tb ? -1 : 1);
  }
  const ka = `${left.meta.namespace}/${left.meta.name}`;
  const kb = `${right.meta.namespace}/${right.meta.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

// The families that have each per-Ingress hook, found once: buildModel runs these for every Ingress and path.
const WITH_HOOK = {
  proxiesToService: FAMILIES.filter((family) => family.proxiesToService),
  takesIngress: FAMILIES.filter((family) => family.takesIngress),
  extraBackend: FAMILIES.filter((family) => family.extraBackend),
};
const FAMILY_NAMED: ReadonlyMap<string, AnyFamily> = new Map(FAMILIES.map((family) => [family.name, family]));

export function buildModel(input: ModelInput, opts: ModelOptions): BuildResult {
  const problems: Problem[] = [];
  const cm = opts.configMap ? input.get('ConfigMap', opts.configMap.namespace, opts.configMap.name) : undefined;
  const { settings, problems: settingProblems } = parseSettings(cm);
  problems.push(...settingProblems);

  const externalNames = new Set<string>();
  const lookup = lookupFor(
    input,
    (host) => {
      externalNames.add(host);
      return opts.resolved?.get(host);
    },
    opts,
  );

  const backends = new Map<string, Backend>();
  const useBackend = (ing: Ingress, ref: IngressBackend, field: string, balance: Balance): string | null => {
    const toService = WITH_HOOK.proxiesToService.some((family) => family.proxiesToService!(ing, settings));
    const resolved = resolveBackend(ing.meta.namespace, ref, lookup, balance, toService);
    if (!resolved.ok) {
      problems.push(problemAt(ing, 'warning', field, `${resolved.reason}; answering 503`));
      return null;
    }
    if (resolved.note) problems.push(problemAt(ing, 'warning', field, resolved.note));
    // refused endpoints and lists over the limit: reported once, by the first (oldest) Ingress using the backend
    if (resolved.issues && !backends.has(resolved.backend.name))
      problems.push(...endpointProblems(resolved.issues, resolved.backend, ing, field));
    // namespace-service-port is ambiguous ("a-b"/"c" and "a"/"b-c"): the first Service to take a name
    // keeps it, so another namespace cannot take over its upstream
    const taken = backends.get(resolved.backend.name);
    if (taken && (taken.namespace !== resolved.backend.namespace || taken.service !== resolved.backend.service)) {
      problems.push(
        problemAt(
          ing,
          'error',
          field,
          `backend name ${resolved.backend.name} is already used by Service ${taken.namespace}/${taken.service}; answering 503`,
        ),
      );
      return null;
    }
    if (taken) {
      // the oldest Ingress decides how a shared backend balances; say so when a younger one disagrees
      if (!sameBalance(taken.balance, balance)) {
        problems.push(
          problemAt(
            ing,
            'warning',
            field,
            `backend ${taken.name} is balanced as an older Ingress says (${JSON.stringify(taken.balance)}); this Ingress's load-balancing annotations do not apply to it`,
          ),
        );
      }
      if (Boolean(taken.serviceUpstream) !== Boolean(resolved.backend.serviceUpstream)) {
        problems.push(
          problemAt(
            ing,
            'warning',
            field,
            `backend ${taken.name} ${taken.serviceUpstream ? 'proxies to the Service ClusterIP' : 'uses the pod endpoints'} as an older Ingress says; this Ingress's service-upstream does not apply to it`,
          ),
        );
      }
      return taken.name;
    }
    backends.set(resolved.backend.name, resolved.backend);
    return resolved.backend.name;
  };
  // --default-backend-service: resolved before any Ingress, so that its backend keeps its name
  const controllerDefault = controllerDefaultBackend(opts.defaultBackendService, lookup, backends, problems);

  const classes = input.list('IngressClass');
  const served = input
    .list('Ingress')
    .filter((i) => isServed(i, classes, opts))
    .filter((ing) => {
      // annotation-value-word-blocklist and annotations-risk-level: refused whole, the rest is served
      const refused = refusals(ing, settings);
      problems.push(...refused);
      return refused.length === 0;
    })
    .sort(byAge);
  // Ingresses a family takes (canaries) get no locations of their own: its finishModel (below) places them
  const takenBy = new Map<AnyFamily, Ingress[]>();
  const ingresses = served.filter((ing) => {
    const family = WITH_HOOK.takesIngress.find((candidate) => candidate.takesIngress!(ing));
    if (family) takenBy.set(family, [...(takenBy.get(family) ?? []), ing]);
    return !family;
  });

  const servers = new Map<string, Server>();
  const serverFor = (host: string): Server => {
    let server = servers.get(host);
    if (!server) {
      server = { host, tls: null, locations: [], fallback: { backend: null, ingress: null }, ingresses: [], ann: {} };
      servers.set(host, server);
    }
    return server;
  };
  serverFor('');
  const serverIngresses = new Map<Server, Set<string>>();

  // who claimed each host+match+path first
  const claims = new Map<string, string>();
  let globalDefault: { backend: string | null; ingress: string } | null = null;
  const hostDefaults = new Map<string, { backend: string | null; ingress: string }>();
  // for the location of unmatched paths (fallbackLocation): each Ingress's annotations, and the defaults
  // that are an Ingress's own spec.defaultBackend (rather than a default-backend annotation's)
  const parsedIngresses = new Map<string, { ing: Ingress; ann: IngressAnnotations }>();
  const specDefaults = new Set<object>();

  // managed files are named base-contenthash: Ingresses asking for the same content under the same base
  // share one file; anything else under one name (a 64-bit hash collision) is refused, never overwritten
  const files = new NameTable<ManagedFile>();
  const serviceNamed = (namespace: string, name: string) => input.get('Service', namespace, name);
  const ctx: AnnotationContext = {
    settings,
    secret: (ns, name) => input.get('Secret', ns, name),
    configMap: (ns, name) => input.get('ConfigMap', ns, name),
    file: (name, content, mode = 0o600) => {
      const digest = crypto.createHash('sha256').update(content).digest('hex');
      const hashed = `${name}-${digest.slice(0, 16)}`;
      const held = files.claim(hashed, `${mode}:${digest}`, { name: hashed, content, mode });
      if (!held.ok) throw new NameError(`managed file name ${hashed} would hold two different contents`);
      return hashed;
    },
  };
  const http: HttpItems = {};
  // items from the settings ConfigMap (its proxy-set-headers), before any Ingress's
  for (const family of FAMILIES) {
    const items = family.fromSettings?.(ctx, problems);
    if (items?.length) setConfig(http, family, items);
  }
  const regexFamilies = FAMILIES.filter((family) => family.regexPaths);

  for (const ing of ingresses) {
    const id = `${ing.meta.namespace}/${ing.meta.name}`;
    const ann = parseAnnotations(ing, ctx, problems);
    parsedIngresses.set(id, { ing, ann });
    for (const family of FAMILIES) {
      const items = configIn(ann.http, family) as unknown[] | undefined;
      if (items) addItems(http, family, items);
    }
    // spec.defaultBackend as ingress-nginx read it: an Ingress without rules is the catch-all (the oldest
    // one; requests for hosts no Ingress names); one with rules answers the unmatched paths of the hosts it
    // is the oldest Ingress of, and nothing else
    // a resource backend is no backend, as ingress-nginx ignored it
    if (ing.defaultBackend && !ing.defaultBackend.service) {
      problems.push(
        problemAt(ing, 'warning', 'spec.defaultBackend', `${resourceBackend(ing.defaultBackend)}; it is not used`),
      );
    }
    const ownDefault = ing.defaultBackend?.service
      ? { backend: useBackend(ing, ing.defaultBackend, 'spec.defaultBackend', ann.balance), ingress: id }
      : null;
    if (ownDefault) specDefaults.add(ownDefault);
    if (ownDefault && ing.rules.length === 0) {
      if (!globalDefault) globalDefault = ownDefault;
      else if (globalDefault.ingress !== id) {
        problems.push(
          problemAt(
            ing,
            'warning',
            'spec.defaultBackend',
            `the default backend of Ingress ${globalDefault.ingress} (older) answers requests for hosts no Ingress names; this one is not used`,
          ),
        );
      }
    } else if (ownDefault) {
      const hosts = [...new Set(ing.rules.map((rule) => rule.host ?? ''))];
      const mine = hosts.filter((host) => host !== '' && !servers.has(host));
      for (const host of mine) hostDefaults.set(host, ownDefault);
      const taken = hosts.filter((host) => !mine.includes(host));
      if (taken.length) {
        problems.push(
          problemAt(
            ing,
            'warning',
            'spec.defaultBackend',
            `not used for ${taken.map((host) => host || '(rules without a host)').join(', ')}: as in ingress-nginx, the default backend of a host is that of its oldest Ingress, and requests for hosts no Ingress names go to an Ingress without rules or --default-backend-service`,
          ),
        );
      }
    }
    // a backend a family asks for (custom-errors' default-backend): resolved like a path's. It answers the
    // error pages and the paths without endpoints, not the unmatched paths of the hosts: ingress-nginx left
    // those to the host's spec.defaultBackend or its own default backend (its root location skipped the
    // annotation), so a default-backend that answers 200 does not turn every unknown path into a page
    for (const family of WITH_HOOK.extraBackend) {
      const config = configIn(ann.location, family);
      const request = config === undefined ? undefined : family.extraBackend!(config, serviceNamed);
      if (!request) continue;
      request.resolved(useBackend(ing, request.ref, request.field, ann.balance));
    }
    const regexPaths = regexFamilies.some((family) => family.regexPaths!.of(ing));
    ing.rules.forEach((rule, ri) => {
      const host = rule.host ?? '';
      const server = serverFor(host);
      // a Set beside the list: includes() was quadratic in the Ingresses of a host
      const named = serverIngresses.get(server) ?? serverIngresses.set(server, new Set()).get(server)!;
      if (!named.has(id)) {
        named.add(id);
        server.ingresses.push(id);
      }
      // server-level annotations: the oldest Ingress of a host that sets a family decides it
      for (const name in ann.server) {
        const family = FAMILY_NAMED.get(name)!;
        const config = configIn(ann.server, family);
        if (config !== undefined && configIn(server.ann, family) === undefined) setConfig(server.ann, family, config);
      }
      rule.paths.forEach((pathRule, pi) => {
        const field = `spec.rules[${ri}].http.paths[${pi}]`;
        // as ingress-nginx: no location, so the host's answer for unmatched paths answers this one too
        if (!pathRule.backend.service) {
          problems.push(
            problemAt(
              ing,
              'warning',
              `${field}.backend`,
              `${resourceBackend(pathRule.backend)}; ${pathRule.path} is answered as the host's unmatched paths are (404 without a default backend)`,
            ),
          );
          return;
        }
        // use-regex / rewrite-target: the paths are regular expressions, taken as written (annotations/rewrite.ts)
        const pathError = regexPaths
          ? regexPathProblem(ing, pathRule.path)
          : isHttpPath(pathRule.path)
            ? null
            : `is a regular expression, which needs the annotation ${regexFamilies.map((family) => family.regexPaths!.key).join(' or ')}: "true"`;
        if (pathError) {
          problems.push(
            problemAt(ing, 'error', `${field}.path`, `${pathRule.path} ${pathError}; this path is ignored`),
          );
          return;
        }
        const match = regexPaths ? 'regex' : pathRule.pathType === 'Exact' ? 'exact' : 'prefix';
        const path =
          match === 'prefix' && pathRule.path.length > 1 ? pathRule.path.replace(/\/+$/, '') || '/' : pathRule.path;
        const claimKey = `${host}\n${match}${match === 'regex' && pathRule.pathType === 'Exact' ? '=' : ''}\n${path}`;
        const owner = claims.get(claimKey);
        if (owner) {
          problems.push(
            problemAt(
              ing,
              'error',
              `${field}.path`,
              `${host || '(any host)'} ${pathRule.pathType} ${pathRule.path} is already routed by Ingress ${owner} (older, or first by namespace/name); this path is ignored`,
            ),
          );
          return;
        }
        claims.set(claimKey, id);
        const backend = useBackend(ing, pathRule.backend, `${field}.backend`, ann.balance);
        server.locations.push({
          path,
          match,
          pathType: pathRule.pathType,
          backend,
          ingress: id,
          sslRedirect: ann.sslRedirect,
          ann: regexPaths ? locationAnnotationsFor(ann.location, path) : ann.location,
          denied: ann.denied,
          service: serviceOf(pathRule.backend),
        });
      });
    });
  }

  // TLS: the first (oldest) Ingress naming a host in spec.tls with a usable certificate for it decides
  // its certificate. Usable: the Secret parses, and the certificate names the host (as ingress-nginx,
  // which served the default certificate otherwise); a broken or foreign certificate never shadows a
  // younger working one. A host no usable certificate covers gets the default certificate.
  const certs = new NameTable<Certificate>();
  const defaultCertificate = controllerDefaultCertificate(opts.defaultSslCertificate, input, certs, problems);
  const certForHost = new Map<string, string>();
  const badSecrets = new Set<string>();
  const servedHosts = new Set([...servers.keys()].flatMap((h) => (h ? [h, h.replace(/^[^.]+/, '*')] : [])));
  for (const ing of ingresses) {
    ing.tls.forEach((tls, ti) => {
      const hosts = tls.hosts.length ? tls.hosts : [''];
      let cert: Certificate | null = null;
      if (tls.secretName) {
        const secret = input.get('Secret', ing.meta.namespace, tls.secretName);
        const where = {
          file: ing.source.file,
          line: ing.source.line,
          object: objectRef(ing),
          field: `spec.tls[${ti}].secretName`,
        };
        if (!secret) {
          problems.push({
            severity: 'warning',
            ...where,
            message: `Secret ${ing.meta.namespace}/${tls.secretName} not found; using the default certificate`,
          });
        } else {
          const parsed = certificateFromSecret(secret);
          const key = objectRef(secret);
          if (!badSecrets.has(key) && !certs.has(certificateName(ing.meta.namespace, tls.secretName)))
            problems.push(...parsed.problems);
          if (parsed.ok) {
            const held = certs.claim(parsed.cert.name, key, parsed.cert);
            if (held.ok) cert = held.value;
            else
              problems.push({
                severity: 'error',
                ...where,
                message: `certificate name ${parsed.cert.name} is already used by ${held.holder}; using the default certificate`,
              });
          } else {
            badSecrets.add(key);
            problems.push({
              severity: 'warning',
              ...where,
              message: `Secret ${ing.meta.namespace}/${tls.secretName} is not a usable TLS certificate; using the default certificate`,
            });
          }
        }
      }
      hosts.forEach((hostname, hi) => {
        let certName = cert ? cert.name : 'default';
        if (cert && hostname && !certCoversHost(cert.pem, hostname)) {
          certName = 'default';
          if (servedHosts.has(hostname)) {
            problems.push(
              problemAt(
                ing,
                'warning',
                `spec.tls[${ti}].hosts[${hi}]`,
                `the certificate of Secret ${ing.meta.namespace}/${tls.secretName} does not name host ${hostname}; using the default certificate for it`,
              ),
            );
          }
        }
        if (!certForHost.has(hostname) || (certForHost.get(hostname) === 'default' && certName !== 'default'))
          certForHost.set(hostname, certName);
      });
    });
  }
  for (const server of servers.values()) {
    const exact = certForHost.get(server.host);
    const wildcard = server.host ? certForHost.get(server.host.replace(/^[^.]+/, '*')) : undefined;
    server.tls = exact ?? wildcard ?? null;
    server.fallback = hostDefaults.get(server.host) ??
      (server.host === '' ? globalDefault : null) ??
      controllerDefault ?? { backend: null, ingress: null };
    server.locations.sort(locationOrder);
    // ingress-nginx's root location of a host: its oldest Ingress's annotations; of the catch-all: those
    // of the Ingress whose spec.defaultBackend it is
    const catchAll = server.host === '';
    const annotatedBy = catchAll ? globalDefault?.ingress : server.ingresses[0];
    const parsed = annotatedBy === undefined ? undefined : parsedIngresses.get(annotatedBy);
    const routesRoot = server.locations.some((location) => location.match === 'prefix' && location.path === '/');
    if (parsed && !routesRoot) {
      const ownBackend = specDefaults.has(server.fallback) && server.fallback.ingress === annotatedBy;
      server.fallbackLocation = fallbackLocation(server.fallback.backend, parsed, ownBackend, catchAll, settings);
    }
  }
  // every Ingress is placed: the families' finishing passes (error pages, auth subrequest locations,
  // www aliases) in families.ts order, each after the ones it names in finishAfter
  const placed = {
    servers: [...servers.values()],
    backends,
    http,
    resolved: lookup.resolved,
    policy: opts.endpointPolicy,
    certificateCovers: (server: Server, name: string) => {
      const cert = server.tls && server.tls !== 'default' ? certs.get(server.tls) : undefined;
      return !cert || certCoversHost(cert.pem, name);
    },
    defaultBackend: controllerDefault?.backend ?? null,
    settings, // issue 13: custom-http-errors for the catch-all (annotations/custom-errors.ts)
  };
  for (const family of finishingOrder(FAMILIES)) problems.push(...family.finish!(placed));

  let model: Model = {
    servers: [...servers.values()].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : 0)),
    backends: [...backends.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)),
    certificates: certs.values().sort((a, b) => (a.name < b.name ? -1 : 1)),
    files: files.values().sort((a, b) => (a.name < b.name ? -1 : 1)),
    http,
    settings,
    ...(defaultCertificate ? { defaultCertificate } : {}),
  };
  const environment = { lookup, settings, balancer: opts.balancer };
  for (const family of FAMILIES) {
    if (family.finishModel) model = family.finishModel(model, takenBy.get(family) ?? [], environment, problems);
  }
  return { model, problems, externalNames: [...externalNames].sort() };
}

/** Why a resource backend (spec.defaultBackend or a path's `resource:`) routes nothing. */
function resourceBackend(ref: IngressBackend): string {
  return `a resource backend (${ref.resource?.kind ?? 'unknown kind'}) is not a Service; ingress-nginx ignored it, and so does ingress-templater`;
}

/** The Service a backend names as written, for X-Service-Name and X-Service-Port. */
function serviceOf(ref: IngressBackend): { name: string; port: string } | undefined {
  const named = ref.service;
  return named ? { name: named.name, port: String(named.port.number ?? named.port.name ?? '') } : undefined;
}

/**
 * The location "/" answering a host's unmatched paths, as ingress-nginx's root location: the fallback's
 * backend with the location annotations of one Ingress (an auth annotation guards those paths too, an
 * invalid one denies them). Families leave it as their `fallback` says: rewrite-target never; redirects
 * not on the catch-all, nor its ssl-redirect (ingress-nginx kept the catch-all's); the backend's protocol
 * and TLS only when the backend is the Ingress's own spec.defaultBackend.
 */
function fallbackLocation(
  backend: string | null,
  parsed: { ing: Ingress; ann: IngressAnnotations },
  ownBackend: boolean,
  catchAll: boolean,
  settings: Settings,
): Location {
  const ann: LocationAnnotations = {};
  for (const family of FAMILIES) {
    const config = configIn(parsed.ann.location, family);
    if (config === undefined || family.fallback === 'never') continue;
    if ((family.fallback === 'hosts' && catchAll) || (family.fallback === 'ownBackend' && !ownBackend)) continue;
    setConfig(ann, family, config);
  }
  const { ing } = parsed;
  return {
    path: '/',
    match: 'prefix',
    pathType: 'Prefix',
    backend,
    ingress: `${ing.meta.namespace}/${ing.meta.name}`,
    sslRedirect: catchAll ? settings.sslRedirect : parsed.ann.sslRedirect,
    ann,
    denied: parsed.ann.denied,
    ...(ownBackend && ing.defaultBackend ? { service: serviceOf(ing.defaultBackend) } : {}),
  };
}

// longest path first; exact before prefix for the same path
function locationOrder(left: Location, right: Location): number {
  if (left.path.length !== right.path.length) return right.path.length - left.path.length;
  if (left.path !== right.path) return left.path < right.path ? -1 : 1;
  return left.match === right.match ? 0 : left.match === 'exact' ? -1 : 1;
}

/**
 * The certificate of --default-ssl-certificate, registered under its name (a Secret that spec.tls also names
 * shares it); null with a warning when the Secret is missing or unusable: the generated certificate serves
 * then, as ingress-nginx fell back to its fake certificate.
 */
function controllerDefaultCertificate(
  named: ModelOptions['defaultSslCertificate'],
  input: ModelInput,
  certs: NameTable<Certificate>,
  problems: Problem[],
): string | null {
  if (!named) return null;
  const { namespace, name } = named;
  const where = { object: `Secret ${namespace}/${name}`, field: '--default-ssl-certificate' };
  const fallback = 'the generated self-signed certificate is served instead';
  const secret = input.get('Secret', namespace, name);
  if (!secret) {
    problems.push({ severity: 'warning', ...where, message: `Secret ${namespace}/${name} not found; ${fallback}` });
    return null;
  }
  const parsed = certificateFromSecret(secret);
  problems.push(...parsed.problems);
  if (!parsed.ok) {
    problems.push({
      severity: 'warning',
      ...where,
      message: `Secret ${namespace}/${name} is not a usable TLS certificate; ${fallback}`,
    });
    return null;
  }
  const held = certs.claim(parsed.cert.name, objectRef(secret), parsed.cert);
  if (!held.ok) {
    problems.push({
      severity: 'error',
      ...where,
      message: `certificate name ${parsed.cert.name} is already used by ${held.holder}; ${fallback}`,
    });
    return null;
  }
  return held.value.name;
}

/**
 * The backend of --default-backend-service (its first port, as ingress-nginx takes it), registered under its
 * name; null with a warning when it cannot be used (ingress-nginx refused to start; here the rest is served
 * and such requests answer 404).
 */
function controllerDefaultBackend(
  named: ModelOptions['defaultBackendService'],
  lookup: BackendLookup,
  backends: Map<string, Backend>,
  problems: Problem[],
): { backend: string; ingress: null } | null {
  if (!named) return null;
  const { namespace, name } = named;
  const first = lookup.service(namespace, name)?.ports[0];
  const resolved = first
    ? resolveBackend(namespace, { service: { name, port: { number: first.port } } }, lookup)
    : { ok: false as const, reason: `Service ${namespace}/${name} not found or without ports` };
  if (!resolved.ok) {
    problems.push({
      severity: 'warning',
      object: `Service ${namespace}/${name}`,
      field: '--default-backend-service',
      message: `${resolved.reason}; requests no Ingress routes answer 404`,
    });
    return null;
  }
  backends.set(resolved.backend.name, resolved.backend);
  return { backend: resolved.backend.name, ingress: null };
}
