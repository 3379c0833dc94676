// The current set of resources, indexed by kind/namespace/name, and which file holds which objects.
import type { Kind, Problem, Resource } from './types.js';
import { objectRef, resourceKey } from './types.js';

export interface FileContent {
  resources: Resource[];
  rejected: string[]; // keys of objects this file tried to define but that failed validation
  parseFailed: boolean;
}

export class Store {
  private byFile = new Map<string, Resource[]>();
  private index = new Map<string, Resource>();

  /**
   * Replace what a file contributes. A file that no longer parses keeps its last good content; an object
   * that fails validation keeps its last good version from the same file (like an API server refusing an
   * update), so a half-written edit never takes a route down. Returns warnings for what was kept.
   */
  setFile(file: string, content: FileContent): Problem[] {
    const previous = this.byFile.get(file) ?? [];
    const notes: Problem[] = [];
    if (content.parseFailed) {
      if (previous.length) notes.push({ severity: 'warning', file, message: `kept the last good content of this file (${previous.length} objects)` });
      return notes;
    }
    const next = [...content.resources];
    const have = new Set(next.map(keyOf));
    for (const old of previous) {
      const key = keyOf(old);
      if (content.rejected.includes(key) && !have.has(key)) {
        next.push(old);
        have.add(key);
        notes.push({ severity: 'warning', file, object: objectRef(old), message: 'kept the last good version of this object' });
      }
    }
    this.byFile.set(file, next);
    this.dirty = true;
    return notes;
  }

  removeFile(file: string): void {
    if (this.byFile.delete(file)) this.dirty = true;
  }

  files(): string[] {
    return [...this.byFile.keys()];
  }

  /** Objects defined twice: the first file in path order wins; the others are reported. */
  duplicates(): Problem[] {
    this.ensureIndex();
    return this.dupes;
  }

  get<K extends Kind>(kind: K, namespace: string, name: string): Extract<Resource, { kind: K }> | undefined {
    this.ensureIndex();
    return this.index.get(resourceKey(kind, namespace, name)) as Extract<Resource, { kind: K }> | undefined;
  }

  list<K extends Kind>(kind: K): Extract<Resource, { kind: K }>[] {
    this.ensureIndex();
    return (this.byKind.get(kind) ?? []) as Extract<Resource, { kind: K }>[];
  }

  private byKind = new Map<Kind, Resource[]>();
  private dupes: Problem[] = [];
  private dirty = false;

  // Indexing once per batch of file changes keeps a big initial load linear.
  private ensureIndex(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.index.clear();
    this.byKind.clear();
    this.dupes = [];
    for (const file of [...this.byFile.keys()].sort()) {
      for (const r of this.byFile.get(file)!) {
        const key = keyOf(r);
        const first = this.index.get(key);
        if (first) {
          this.dupes.push({
            severity: 'error', file, line: r.source.line, object: objectRef(r),
            message: `defined again; the definition in ${first.source.file}:${first.source.line} is used`,
          });
          continue;
        }
        this.index.set(key, r);
        const list = this.byKind.get(r.kind) ?? [];
        list.push(r);
        this.byKind.set(r.kind, list);
      }
    }
  }
}

function keyOf(r: Resource): string {
  return resourceKey(r.kind, r.meta.namespace, r.meta.name);
}
