// sources -> store: rescan the manifests directory and reload only the files whose signature changed.
import fs from 'node:fs';
import { loadFile } from './sources/loader.js';
import { scanDirectory } from './sources/scan.js';
import { Store } from './store.js';
import type { Problem } from './types.js';
import { formatProblem } from './types.js';

// A file rewritten in place (same inode) may be half written: a writer truncates it, then fills it. It is
// read once unmodified for this long, so a half state never reaches nginx (new files and renames are not held).
export const IN_PLACE_QUIET_MS = 1000;

export class ManifestSet {
  readonly store = new Store();
  /** when a file held back as possibly half written is due for another look (0: none) */
  recheckAt = 0;
  private signatures = new Map<string, string>();
  private inodes = new Map<string, number>();
  private scanReport = '';
  private fileProblems = new Map<string, Problem[]>();
  private rejectedByFile = new Map<string, number>();
  private scanProblems: Problem[] = [];

  constructor(readonly root: string, private readonly maxFileBytes?: number) {}

  /** Returns whether any file was added, changed or removed. */
  async refresh(): Promise<boolean> {
    this.recheckAt = 0;
    if (!fs.existsSync(this.root)) {
      // A vanished directory is an outage of the source, not an instruction to delete every route.
      return this.setScanProblems([{ severity: 'error', file: this.root, message: 'manifests directory does not exist; keeping the last loaded state' }]);
    }
    const scan = await scanDirectory(this.root);
    // problems of the listing (a symlink out of the directory) change nothing else, but must be reported
    let changed = this.setScanProblems(scan.problems);
    const present = new Set<string>();
    const now = Date.now();
    for (const entry of scan.files) {
      present.add(entry.rel);
      const previous = this.signatures.get(entry.rel);
      if (previous === entry.signature) continue;
      const age = now - entry.mtimeMs;
      if (previous !== undefined && this.inodes.get(entry.rel) === entry.ino && age > -IN_PLACE_QUIET_MS && age < IN_PLACE_QUIET_MS) {
        const due = entry.mtimeMs + IN_PLACE_QUIET_MS;
        this.recheckAt = this.recheckAt ? Math.min(this.recheckAt, due) : due;
        continue;
      }
      const result = await loadFile(entry.abs, entry.rel, this.maxFileBytes);
      const notes = this.store.setFile(entry.rel, result);
      this.signatures.set(entry.rel, entry.signature);
      this.inodes.set(entry.rel, entry.ino);
      this.fileProblems.set(entry.rel, [...result.problems, ...notes]);
      this.rejectedByFile.set(entry.rel, result.parseFailed ? 1 : result.rejected.length + result.problems.filter((p) => p.severity === 'error' && !p.object).length);
      changed = true;
    }
    for (const rel of [...this.signatures.keys()]) {
      if (present.has(rel)) continue;
      this.signatures.delete(rel);
      this.inodes.delete(rel);
      this.fileProblems.delete(rel);
      this.rejectedByFile.delete(rel);
      this.store.removeFile(rel);
      changed = true;
    }
    return changed;
  }

  private setScanProblems(problems: Problem[]): boolean {
    this.scanProblems = problems;
    const report = problems.map(formatProblem).join('\n');
    if (report === this.scanReport) return false;
    this.scanReport = report;
    return true;
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
