// The routing model: what nginx must do, independent of how the template spells it.
import type { PathType } from '../resources.js';
import type { Balance } from './annotations/balance.js';
import type { CanaryRules } from './annotations/canary.js';
import type { ManagedFile } from './annotations/family.js';
import type { HttpItems, LocationAnnotations, ServerAnnotations } from './annotations/families.js';
import type { Settings } from './settings.js';

export interface Endpoint {
  address: string; // IPv4 or IPv6 literal
  port: number;
}

export interface Backend {
  name: string; // namespace-service-port, as ingress-nginx names them
  namespace: string;
  service: string;
  port: number; // the Service port
  endpoints: Endpoint[]; // ready endpoints only, sorted
  externalName?: string; // set for ExternalName Services: endpoints are its resolved addresses
  balance: Balance; // from the oldest Ingress using this backend, else the ConfigMap default
  serviceUpstream?: true; // service-upstream: endpoints is the Service's ClusterIP and port
  canary?: Canary; // a canary Ingress's backend takes a share of this backend's requests (src/model/canary-pass.ts)
  // endpoints refused (the controller's own listeners, endpoint-policy.ts) or a list over the limit, whose
  // previous endpoints are kept (overLimit: the count refused); reported, and the fast path rebuilds it
  withheld?: { refused: number; overLimit?: number };
}

export interface Canary extends CanaryRules {
  backend: string; // the canary backend's name (also in Model.backends)
  ingress: string; // namespace/name of the canary Ingress
}

export interface Location {
  path: string; // normalised: Prefix paths lose a trailing slash (except "/"); regex paths as written
  match: 'exact' | 'prefix' | 'regex'; // regex: the path is a regular expression (use-regex, rewrite-target)
  pathType: PathType;
  backend: string | null; // null: nothing to proxy to (answer 503)
  ingress: string; // namespace/name that defined it
  sslRedirect: boolean;
  ann: LocationAnnotations; // annotation family -> config (see annotations/family.ts)
  denied: string | null; // an invalid annotation: the location answers 503
  // the Service the path names, as written (X-Service-Name/-Port of error pages, even when it is missing)
  service?: { name: string; port: string };
}

export interface Server {
  host: string; // "" is the catch-all server for rules without a host
  tls: string | null; // certificate name, or "default" for the self-signed fallback
  locations: Location[]; // longest path first
  // what answers when no location matches: a backend, or 404 when null
  fallback: { backend: string | null; ingress: string | null };
  // The location "/" that answers those requests when no rule routes "/", as ingress-nginx gave every host:
  // the fallback's backend with the location annotations of the host's oldest Ingress (model/index.ts
  // says which). Absent when a rule routes "/" or no Ingress names the host (the catch-all).
  fallbackLocation?: Location;
  ingresses: string[];
  ann: ServerAnnotations; // server-level annotation family -> config
}

/** Every location a pass over locations must see: the server's, then the fallback's when it has one. */
export function locationsOf(server: Server): Location[] {
  return server.fallbackLocation ? [...server.locations, server.fallbackLocation] : server.locations;
}

export interface Certificate {
  name: string; // namespace-secret
  pem: string; // certificate chain followed by the key
  hash: string; // sha256 of pem, hex
  notAfter: string;
}

export interface Model {
  servers: Server[];
  backends: Backend[];
  certificates: Certificate[];
  files: ManagedFile[]; // htpasswd files, CA bundles... written under PREFIX/files
  http: HttpItems; // annotation family -> items for the http block
  settings: Settings;
  // --default-ssl-certificate: the certificate (of certificates) served instead of the generated one
  defaultCertificate?: string;
}
