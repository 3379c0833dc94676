// The shape every annotation family follows. A family reads its own keys of an Ingress, validates them
// strictly, and returns typed config for the Ingress's locations, for its servers (hosts), and items
// for the http block; the templates render each with partials named after the family:
//   templates/partials/ann-<name>.hbs   inside each location of the Ingress  (context: the location config)
//   templates/partials/srv-<name>.hbs   inside each server the Ingress has rules for (oldest Ingress wins)
//   templates/partials/http-<name>.hbs  once in http {}                       (context: { items })
// An error Problem from a family's location() denies the Ingress's paths (503), as ingress-nginx does.
//
// A family also carries the hooks of the passes it takes part in (buildModel in model/index.ts and
// render/view.ts call them for every family of families.ts, and name none), and the traits the renderer
// needs. What a partial does (add_header, a server-level return, an include of user text, ssl_ directives)
// is read from the partial itself when the templates load (render/partial-traits.ts), never listed here.
import type { ConfigMap, Ingress, IngressBackend, Problem, Secret, Service } from '../../resources.js';
import type { BackendLookup } from '../backends.js';
import type { EndpointPolicy } from '../endpoint-policy.js';
import type { ConstantHeader, VariableHeader } from '../proxy-headers.js';
import type { Backend, Model, Server } from '../routing.js';
import type { Settings } from '../settings.js';
import type { HttpItems } from './families.js';

/** An object an Ingress or the settings name, which a source must fetch for the model to read it. */
export interface ObjectReference {
  kind: 'Secret' | 'ConfigMap';
  namespace: string;
  name: string;
}

/** A file the config refers to (htpasswd, CA bundle): written by the applier under PREFIX/files. */
export interface ManagedFile {
  name: string; // file name only, [a-z0-9._-]; carries a content hash so a change is a config change
  content: string;
  mode: number; // 0o600 unless nginx workers must read it at request time
}

export interface AnnotationContext {
  settings: Settings;
  secret(namespace: string, name: string): Secret | undefined;
  configMap(namespace: string, name: string): ConfigMap | undefined;
  /** register a file and get the name to render with {{fileIn @root.filesDir name}} */
  file(name: string, content: string, mode?: number): string;
}

/** Every Ingress placed on its servers, for a family's finishing pass. */
export interface PlacedIngresses {
  servers: Server[]; // with locations sorted, fallbacks and certificates decided
  backends: ReadonlyMap<string, Backend>;
  http: HttpItems; // the http block's items, which a pass may add to
  /** an ExternalName-like host's addresses: undefined when resolution is not known (render, validate) */
  resolved(host: string): string[] | undefined;
  policy: EndpointPolicy | undefined; // the controller's own listeners, which no backend may name
  /** does the server's certificate name this host? */
  certificateCovers(server: Server, name: string): boolean;
  /** the backend of --default-backend-service (ingress-nginx's upstream-default-backend), null without one */
  defaultBackend: string | null;
  /** issue 13: the ConfigMap's custom-http-errors and ssl-redirect, for the catch-all's error pages */
  settings?: Pick<Settings, 'customHttpErrors' | 'sslRedirect'>;
}

/** What a pass over the finished model (the canary pass) needs besides the model. */
export interface ModelEnvironment {
  lookup: BackendLookup;
  settings: Settings;
  balancer: 'lua' | 'static' | undefined;
}

/** The directive and URL scheme of a location's proxy_pass line. */
export interface UpstreamPass {
  directive: 'proxy_pass' | 'grpc_pass' | 'fastcgi_pass';
  // null: no scheme (fastcgi_pass); "$scheme": the client's (AUTO_HTTP: HTTPS upstream for HTTPS clients)
  scheme: 'http' | 'https' | 'grpc' | 'grpcs' | '$scheme' | null;
}

/** Regular-expression paths, which one annotation turns on. */
export interface RegexPaths {
  key: string; // the annotation, named in the problem of a regex path without it
  of(ing: Ingress): boolean; // are this Ingress's paths regular expressions?
  problem(path: string): string | null; // why a regex path cannot be used
}

/** A backend a family asks buildModel to resolve like a path's, and what to do with its name. */
export interface BackendRequest {
  ref: IngressBackend;
  field: string; // where the Ingress asks for it, for problems
  /** the resolved backend's name, null when it cannot be used (already reported) */
  resolved(backend: string | null): void;
}

/**
 * One annotation family. Loc, Srv and Http are the types of its location config, server config and http
 * items: they flow from its parse through the model (routing.ts types the maps from families.ts) to the
 * hooks and the partials. Hooks are methods, so that a family of specific types is also a Family.
 */
export interface Family<Name extends string = string, Loc = never, Srv = never, Http = never> {
  name: Name;
  keys: readonly string[]; // full annotation names read by this family
  /**
   * Which invalid values deny the Ingress's paths (503): all (true) or these keys. As ingress-nginx's
   * LocationDenied: access lists, authentication, TLS verification, custom response headers, FastCGI
   * parameters (and here canaries and snippets too, which served otherwise would route or run something
   * else than asked). An invalid value of any other annotation is ignored with a warning and its
   * default applies, as ingress-nginx ignored it.
   */
  failClosed?: boolean | readonly string[];

  // ---- parse (parseAnnotations, once per Ingress, in families.ts order) ----
  location?(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): Loc | undefined;
  server?(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): Srv | undefined;
  http?(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): Http[] | undefined;

  // ---- sources (model/references.ts) ----
  /** the Secrets and ConfigMaps the family's annotations of this Ingress name, valid or not yet */
  references?(ing: Ingress): ObjectReference[];
  /** those the settings name for this family */
  settingsReferences?(settings: Settings): ObjectReference[];

  // ---- buildModel ----
  /** http items from the settings ConfigMap, before any Ingress's */
  fromSettings?(ctx: AnnotationContext, problems: Problem[]): Http[];
  /** an Ingress this family takes out of routing (it gets no locations), for its finishModel */
  takesIngress?(ing: Ingress): boolean;
  /** the Ingress's backends proxy to their Service's ClusterIP rather than the pod endpoints */
  proxiesToService?(ing: Ingress, settings: Settings): boolean;
  /** the annotation that makes an Ingress's paths regular expressions */
  regexPaths?: RegexPaths;
  /** the config of one location of a regex Ingress, from the Ingress's config and the path (undefined: none) */
  forPath?(config: Loc, path: string): Loc | undefined;
  /** a backend for the Ingress besides its paths' (resolved right after the Ingress's annotations) */
  extraBackend?(
    config: Loc,
    service: (namespace: string, name: string) => Service | undefined,
  ): BackendRequest | undefined;
  /**
   * Whether the location "/" answering a host's unmatched paths (Server.fallbackLocation) takes this family's
   * config from the host's oldest Ingress: everywhere (absent), never, not on the catch-all server
   * ('hosts': ingress-nginx kept the catch-all's redirects), or only when that location proxies to the
   * Ingress's own spec.defaultBackend ('ownBackend': how to reach its backend, not another's).
   */
  fallback?: 'never' | 'hosts' | 'ownBackend';
  /** families whose finish must run before this one's */
  finishAfter?: readonly string[];
  /** once every Ingress is placed: complete configs, add server config, deny paths; returns problems */
  finish?(placed: PlacedIngresses): Problem[];
  /** last, over the whole model, with the Ingresses takesIngress took */
  finishModel?(model: Model, taken: Ingress[], env: ModelEnvironment, problems: Problem[]): Model;

  // ---- render/view.ts ----
  /** how the location proxies (backend-protocol); the first family that answers decides */
  upstream?(config: Loc): UpstreamPass;
  /** the location redirects plain HTTP to HTTPS whatever the TLS section says */
  redirectsToHttps?(config: Loc): boolean;
  /** the shape of that redirect's target, when the location's differs from the settings' */
  httpsRedirectTarget?(config: Loc): { preserveTrailingSlash: boolean; usePort: boolean };
  /** the server serves HTTPS only (plain HTTP redirects) */
  httpsOnly?(config: Srv): boolean;
  /** the location config answers for a backend without endpoints itself (no 503 page of the server) */
  answersUnavailable?(config: Loc): boolean;
  /** names the server answers besides its host (for the server names hash) */
  serverNames?(config: Srv): string[];
  /** the server partial's context, from the config and the ConfigMap's custom headers */
  serverView?(config: Srv, customHeaders: readonly ConstantHeader[]): object;
  /** http items that are constant request headers for every backend (no http partial) */
  constantHeaders?(items: readonly Http[]): ConstantHeader[];
  /** http items that are request headers sent from a variable (beside the family's http partial) */
  variableHeaders?(items: readonly Http[]): VariableHeader[];
  /** http items that are response headers for every client (each server repeats them without headers-more) */
  responseHeaders?(items: readonly Http[]): { name: string; value: string }[];
}

/** Any family, as the passes see them: configs are opaque to the code that calls the hooks. */
export type AnyFamily = Family<string, unknown, unknown, unknown>;

/** A family's config in one of the maps keyed by family name (location, server, http). */
export function configIn(map: object, family: { name: string }): unknown {
  return (map as Record<string, unknown>)[family.name];
}

/** Sets (or, with undefined, removes) a family's config in a map keyed by family name. */
export function withConfig<M extends object>(map: M, family: { name: string }, config: unknown): M {
  const { [family.name]: _old, ...rest } = map as Record<string, unknown>;
  return (config === undefined ? rest : { ...rest, [family.name]: config }) as M;
}

/** Sets a family's config in a map keyed by family name, in place. */
export function setConfig(map: object, family: { name: string }, config: unknown): void {
  (map as Record<string, unknown>)[family.name] = config;
}

/** Appends items to a family's list in a map keyed by family name (the http block's items). */
export function addItems(map: object, family: { name: string }, items: readonly unknown[]): void {
  const lists = map as Record<string, unknown[]>;
  lists[family.name] ??= [];
  lists[family.name]!.push(...items);
}
