// sources -> store: look at the files the watcher named (or rescan the directory) and reload only the
// files whose signature changed.
import fs from 'node:fs';
import path from 'node:path';
import { loadFile } from './loader.js';
import { fileEntry, isManifestName, scanDirectory } from './scan.js';
import type { FileEntry } from './scan.js';
import { Store } from '../store.js';
import type { Problem } from '../resources.js';
import { formatProblem } from '../resources.js';

// A file rewritten in place (same inode) may be half written: a writer truncates it, then fills it. It is
// read once unmodified for this long, so a half state never reaches nginx (new files and renames are not held).
export const IN_PLACE_QUIET_MS = 1000;
const LOAD_CONCURRENCY = 8;

export class ManifestSet {
  readonly store = new Store();
  /** when a file held back as possibly half written is due for another look (0: none) */
  recheckAt = 0;
  /** the files held back (absolute paths) */
  readonly held = new Set<string>();
  private signatures = new Map<string, string>();
  private inodes = new Map<string, number>();
  private scanReport = '';
  private fileProblems = new Map<string, Problem[]>();
  private rejectedByFile = new Map<string, number>();
  private scanProblems: Problem[] = [];
  private rootReal: string | undefined; // known after the first full scan
  private linked = true; // symlinks under the root: only full scans (until one shows none)
  fullScans = 0;
  partialRefreshes = 0;

  constructor(
    readonly root: string,
    private readonly maxFileBytes?: number,
  ) {}

  /**
   * Returns whether any file was added, changed or removed. `files`: the absolute paths the watcher named
   * since the last refresh; only those are looked at, unless anything else may have changed (no names,
   * a directory, a symlink anywhere under the root, or the periodic full pass): then the whole tree.
   */
  async refresh(files?: Iterable<string>): Promise<boolean> {
    this.recheckAt = 0;
    this.held.clear();
    let changed = false;
    if (files && this.rootReal && !this.linked) {
      const partial = await this.refreshFiles(this.rootReal, files);
      if (partial.complete) return partial.changed;
      changed = partial.changed; // what it already loaded counts, whatever the scan finds
    }
    this.fullScans++;
    if (!fs.existsSync(this.root)) {
      // A vanished directory is an outage of the source, not an instruction to delete every route.
      return this.setScanProblems([
        {
          severity: 'error',
          file: this.root,
          message: 'manifests directory does not exist; keeping the last loaded state',
        },
      ]);
    }
    const scan = await scanDirectory(this.root);
    this.rootReal = scan.root;
    this.linked = scan.linked;
    // problems of the listing (a symlink out of the directory) change nothing else, but must be reported
    if (this.setScanProblems(scan.problems)) changed = true;
    const present = new Set(scan.files.map((e) => e.rel));
    const now = Date.now();
    // a few files in flight at once: each read waits on the disk and libuv's threads, each parse on a worker
    // of the parser pool (src/sources/parse-pool.ts), which parses as many files at once as it has workers
    let next = 0;
    const worker = async () => {
      while (next < scan.files.length) {
        if (await this.consider(scan.files[next++]!, now)) changed = true;
      }
    };
    await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
    for (const rel of [...this.signatures.keys()]) {
      if (!present.has(rel)) changed = this.forget(rel) || changed;
    }
    return changed;
  }

  /** complete false: something other than plain files is involved, scan everything */
  private async refreshFiles(
    rootReal: string,
    files: Iterable<string>,
  ): Promise<{ changed: boolean; complete: boolean }> {
    let changed = false;
    const incomplete = () => ({ changed, complete: false });
    const now = Date.now();
    for (const abs of new Set(files)) {
      const rel = path.relative(rootReal, abs).split(path.sep).join('/');
      if (rel === '' || rel.startsWith('..') || path.isAbsolute(rel)) return incomplete();
      if (rel.split('/').some((part) => part.startsWith('.'))) continue; // hidden: temporary files, ..data
      let st: fs.Stats;
      try {
        st = await fs.promises.lstat(abs);
      } catch {
        if (this.signatures.has(rel)) changed = this.forget(rel) || changed;
        else if (!isManifestName(rel)) return incomplete(); // a directory that went away, maybe with files in it
        continue;
      }
      // a FIFO or device is loaded like a file (the loader refuses it without opening it for reading)
      if (st.isDirectory() || st.isSymbolicLink()) return incomplete();
      if (!isManifestName(rel)) continue;
      if (await this.consider(fileEntry(rel, abs, st), now)) changed = true;
    }
    this.partialRefreshes++;
    return { changed, complete: true };
  }

  private async consider(entry: FileEntry, now: number): Promise<boolean> {
    const previous = this.signatures.get(entry.rel);
    if (previous === entry.signature) return false;
    const age = now - entry.mtimeMs;
    if (
      previous !== undefined &&
      this.inodes.get(entry.rel) === entry.ino &&
      age > -IN_PLACE_QUIET_MS &&
      age < IN_PLACE_QUIET_MS
    ) {
      const due = entry.mtimeMs + IN_PLACE_QUIET_MS;
      this.held.add(entry.abs);
      this.recheckAt = this.recheckAt ? Math.min(this.recheckAt, due) : due;
      return false;
    }
    const result = await loadFile(entry.abs, entry.rel, this.maxFileBytes);
    const notes = this.store.setFile(entry.rel, result);
    this.signatures.set(entry.rel, entry.signature);
    this.inodes.set(entry.rel, entry.ino);
    this.fileProblems.set(entry.rel, [...result.problems, ...notes]);
    this.rejectedByFile.set(
      entry.rel,
      result.parseFailed
        ? 1
        : result.rejected.length + result.problems.filter((p) => p.severity === 'error' && !p.object).length,
    );
    return true;
  }

  private forget(rel: string): boolean {
    this.signatures.delete(rel);
    this.inodes.delete(rel);
    this.fileProblems.delete(rel);
    this.rejectedByFile.delete(rel);
    this.store.removeFile(rel);
    return true;
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
    let count = 0;
    for (const rejected of this.rejectedByFile.values()) count += rejected;
    return count;
  }
}
