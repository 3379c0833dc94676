// The current set of resources, indexed by kind/namespace/name, and which file holds which objects.
// The index is kept up to date per file change (not rebuilt), and the store records which objects
// changed since the controller last asked: an Endpoints file rewritten among 30,000 objects costs
// the work of that file only.
import type { EndpointSlice, Kind, Problem, Resource } from './resources.js';
import { objectRef, resourceKey } from './resources.js';

export interface FileContent {
  resources: Resource[];
  rejected: string[]; // keys of objects this file tried to define but that failed validation
  parseFailed: boolean;
}

/** One object whose effective definition changed: added (no before), removed (no after) or edited. */
export interface StoreChange {
  key: string;
  kind: Kind;
  before?: Resource;
  after?: Resource;
}

interface Def {
  resource: Resource;
  file: string;
  pos: number; // position in its file
}

export class Store {
  private byFile = new Map<string, Resource[]>();
  private defs = new Map<string, Def[]>(); // every definition of a key, in file order
  private index = new Map<string, Def>(); // the one that counts: first in path order
  private byKind = new Map<Kind, Resource[]>();
  private staleKinds = new Set<Kind>();
  private dupKeys = new Set<string>();
  private changes = new Map<string, StoreChange>();
  private slicesByService = new Map<string, Map<string, Def>>(); // "namespace/service" -> EndpointSlices by key

  /**
   * Replace what a file contributes. A file that no longer parses keeps its last good content; an object
   * that fails validation keeps its last good version from the same file (like an API server refusing an
   * update), so a half-written edit never takes a route down. Returns warnings for what was kept.
   */
  setFile(file: string, content: FileContent): Problem[] {
    const previous = this.byFile.get(file) ?? [];
    const notes: Problem[] = [];
    if (content.parseFailed) {
      if (previous.length)
        notes.push({
          severity: 'warning',
          file,
          message: `kept the last good content of this file (${previous.length} objects)`,
        });
      return notes;
    }
    const next = [...content.resources];
    const have = new Set(next.map(keyOf));
    const rejected = new Set(content.rejected); // a file of thousands of rejected objects: no list search per object
    for (const old of previous) {
      const key = keyOf(old);
      if (rejected.has(key) && !have.has(key)) {
        next.push(old);
        have.add(key);
        notes.push({
          severity: 'warning',
          file,
          object: objectRef(old),
          message: 'kept the last good version of this object',
        });
      }
    }
    this.replace(file, previous, next);
    this.byFile.set(file, next);
    return notes;
  }

  /** Does the file hold exactly this one object, with the same content? (Setting it again would change nothing.) */
  holds(file: string, resource: Resource): boolean {
    const current = this.byFile.get(file);
    return current?.length === 1 && sameContent(current[0], resource);
  }

  removeFile(file: string): void {
    const previous = this.byFile.get(file);
    if (!previous) return;
    this.replace(file, previous, []);
    this.byFile.delete(file);
  }

  files(): string[] {
    return [...this.byFile.keys()];
  }

  /** Objects whose effective definition changed since the last call (content compared, not identity). */
  takeChanges(): StoreChange[] {
    const out = [...this.changes.values()].filter((c) => !sameContent(c.before, c.after));
    this.changes.clear();
    return out;
  }

  /** Objects defined twice: the first file in path order wins; the others are reported. */
  duplicates(): Problem[] {
    const out: { duplicate: Def; first: Def }[] = [];
    for (const key of this.dupKeys) {
      const list = this.defs.get(key)!;
      for (const duplicate of list.slice(1)) out.push({ duplicate, first: list[0]! });
    }
    out.sort((a, b) => byFileOrder(a.duplicate, b.duplicate));
    return out.map(({ duplicate, first }) => ({
      severity: 'error',
      file: duplicate.file,
      line: duplicate.resource.source.line,
      object: objectRef(duplicate.resource),
      message: `defined again; the definition in ${first.resource.source.file}:${first.resource.source.line} is used`,
    }));
  }

  get<K extends Kind>(kind: K, namespace: string, name: string): Extract<Resource, { kind: K }> | undefined {
    return this.index.get(resourceKey(kind, namespace, name))?.resource as Extract<Resource, { kind: K }> | undefined;
  }

  /** Every object of a kind, in file path order (then order within the file). */
  list<K extends Kind>(kind: K): Extract<Resource, { kind: K }>[] {
    if (this.staleKinds.delete(kind)) {
      const defs = [...this.index.values()].filter((d) => d.resource.kind === kind).sort(byFileOrder);
      this.byKind.set(
        kind,
        defs.map((d) => d.resource),
      );
    }
    return (this.byKind.get(kind) ?? []) as Extract<Resource, { kind: K }>[];
  }

  /** The EndpointSlices of a Service, in file order, without listing every slice. */
  slicesOf(namespace: string, service: string): EndpointSlice[] {
    const defs = this.slicesByService.get(`${namespace}/${service}`);
    return defs ? [...defs.values()].sort(byFileOrder).map((d) => d.resource as EndpointSlice) : [];
  }

  private indexSlice(key: string, old: Def | undefined, winner: Def | undefined): void {
    const serviceOf = (d: Def) => `${d.resource.meta.namespace}/${(d.resource as EndpointSlice).serviceName ?? ''}`;
    if (old) {
      const set = this.slicesByService.get(serviceOf(old));
      set?.delete(key);
      if (set && !set.size) this.slicesByService.delete(serviceOf(old));
    }
    if (winner) {
      const svc = serviceOf(winner);
      const set = this.slicesByService.get(svc) ?? new Map<string, Def>();
      set.set(key, winner);
      this.slicesByService.set(svc, set);
    }
  }

  private replace(file: string, previous: Resource[], next: Resource[]): void {
    const touched = new Set<string>();
    for (const resource of previous) {
      const key = keyOf(resource);
      touched.add(key);
      const list = this.defs.get(key)?.filter((d) => d.file !== file) ?? [];
      if (list.length) this.defs.set(key, list);
      else this.defs.delete(key);
    }
    next.forEach((resource, pos) => {
      const key = keyOf(resource);
      touched.add(key);
      const list = this.defs.get(key) ?? [];
      list.push({ resource, file, pos });
      list.sort(byFileOrder);
      this.defs.set(key, list);
    });
    for (const key of touched) {
      const list = this.defs.get(key);
      if (list && list.length > 1) this.dupKeys.add(key);
      else this.dupKeys.delete(key);
      const winner = list?.[0];
      const old = this.index.get(key);
      if (old?.resource === winner?.resource && old?.file === winner?.file) continue;
      const kind = (winner ?? old)!.resource.kind;
      if (winner) this.index.set(key, winner);
      else this.index.delete(key);
      if (kind === 'EndpointSlice') this.indexSlice(key, old, winner);
      this.staleKinds.add(kind);
      const pending = this.changes.get(key);
      this.changes.set(key, { key, kind, before: pending ? pending.before : old?.resource, after: winner?.resource });
    }
  }
}

function keyOf(resource: Resource): string {
  return resourceKey(resource.kind, resource.meta.namespace, resource.meta.name);
}

function byFileOrder(left: Def, right: Def): number {
  return left.file < right.file ? -1 : left.file > right.file ? 1 : left.pos - right.pos;
}

// where an object was read (file, line) is not part of what it says
function contentOf(resource: Resource): string {
  return JSON.stringify(resource, function (k, v: unknown) {
    return this === resource && k === 'source' ? undefined : v;
  });
}

function sameContent(left: Resource | undefined, right: Resource | undefined): boolean {
  if (left === undefined || right === undefined) return left === right;
  return left === right || contentOf(left) === contentOf(right);
}
