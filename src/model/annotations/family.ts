// The shape every annotation family follows. A family reads its own keys of an Ingress, validates them
// strictly, and returns typed config for the Ingress's locations, for its servers (hosts), and items
// for the http block; the templates render each with partials named after the family:
//   templates/partials/ann-<name>.hbs   inside each location of the Ingress  (context: the location config)
//   templates/partials/srv-<name>.hbs   inside each server the Ingress has rules for (oldest Ingress wins)
//   templates/partials/http-<name>.hbs  once in http {}                       (context: { items })
// An error Problem from a family's location() denies the Ingress's paths (503), as ingress-nginx does.
import type { ConfigMap, Ingress, Problem, Secret } from '../../resources.js';
import type { Settings } from '../settings.js';

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

export interface Family {
  name: string;
  keys: readonly string[]; // full annotation names read by this family
  location?(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): object | undefined;
  server?(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): object | undefined;
  http?(ing: Ingress, ctx: AnnotationContext, problems: Problem[]): object[] | undefined;
}
