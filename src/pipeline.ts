// sources -> store: rescan the manifests directory and reload only the files whose signature changed.
import fs from 'node:fs';
import { loadFile } from './sources/loader.js';
import { scanDirectory } from './sources/scan.js';
import { Store } from './store.js';
import type { Problem } from './types.js';

export class ManifestSet {
  readonly store = new Store();
  private signatures = new Map<string, string>();
  private fileProblems = new Map<string, Problem[]>();
  private rejectedByFile = new Map<string, number>();
  private scanProblems: Problem[] = [];

  constructor(readonly root: string, private readonly maxFileBytes?: number) {}

  /** Returns whether any file was added, changed or removed. */
  async refresh(): Promise<boolean> {
    if (!fs.existsSync(this.root)) {
      // A vanished directory is an outage of the source, not an instruction to delete every route.
      this.scanProblems = [{ severity: 'error', file: this.root, message: 'manifests directory does not exist; keeping the last loaded state' }];
      return false;
    }
    const scan = await scanDirectory(this.root);
    this.scanProblems = scan.problems;
    let changed = false;
    const present = new Set<string>();
    for (const entry of scan.files) {
      present.add(entry.rel);
      if (this.signatures.get(entry.rel) === entry.signature) continue;
      const result = await loadFile(entry.abs, entry.rel, this.maxFileBytes);
      const notes = this.store.setFile(entry.rel, result);
      this.signatures.set(entry.rel, entry.signature);
      this.fileProblems.set(entry.rel, [...result.problems, ...notes]);
      this.rejectedByFile.set(entry.rel, result.parseFailed ? 1 : result.rejected.length + result.problems.filter((p) => p.severity === 'error' && !p.object).length);
      changed = true;
    }
    for (const rel of [...this.signatures.keys()]) {
      if (present.has(rel)) continue;
      this.signatures.delete(rel);
      this.fileProblems.delete(rel);
      this.rejectedByFile.delete(rel);
      this.store.removeFile(rel);
      changed = true;
    }
    return changed;
  }

  problems(): Problem[] {
    return [...this.scanProblems, ...[...this.fileProblems.values()].flat(), ...this.store.duplicates()];
  }

  /** Documents (or whole files) rejected by the last load of each file. */
  rejectedCount(): number {
    let n = 0;
    for (const v of this.rejectedByFile.values()) n += v;
    return n;
  }
}
