// The manifest directory as a source of the sync loop: the watcher names files, and a load looks at just
// those (or at the whole tree when an event named none), through the ManifestSet that keeps the store.
import { ManifestSet } from './manifest-set.js';
import { watchDirectory } from './watcher.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Problem } from '../resources.js';
import type { Store } from '../store.js';
import { systemClock } from '../sync/clock.js';
import type { Clock } from '../sync/clock.js';
import type { Source } from '../sync/source.js';

export interface DirectorySourceOptions {
  root: string;
  log: Logger;
  metrics: Metrics;
  clock?: Clock;
}

export class DirectorySource implements Source {
  private readonly manifests: ManifestSet;
  private readonly clock: Clock;
  private hints = new Set<string>(); // files the watcher named since the last load
  private rescan = false; // an event named no file: look at the whole tree
  private watcher: { close(): Promise<void> } | null = null;
  private recheckTimer: unknown = null;
  private onChange: () => void = () => undefined;
  private stopped = false;

  constructor(private readonly options: DirectorySourceOptions) {
    this.manifests = new ManifestSet(options.root);
    this.clock = options.clock ?? systemClock;
  }

  /** The store this source loads into. */
  get store(): Store {
    return this.manifests.store;
  }

  start(onChange: () => void): void {
    this.onChange = onChange;
    this.watcher = watchDirectory(this.options.root, (why, file) => this.noticed(why, file));
  }

  private noticed(why: string, file?: string): void {
    if (this.stopped) return;
    // the files named since the last load are all it needs to look at; an event naming none means a rescan
    if (file === undefined) this.rescan = true;
    else this.hints.add(file);
    this.onChange();
    if (why.startsWith('watch error')) this.options.log('warn', `watcher: ${why}`, { event: 'watch_error' });
  }

  async load(full: boolean): Promise<boolean> {
    const files = full || this.rescan ? undefined : this.hints;
    this.hints = new Set();
    this.rescan = false;
    const changed = await this.manifests.refresh(files);
    this.options.metrics.fullScans = this.manifests.fullScans;
    // a file held back as possibly half written may get no further event: look again when it is due
    const due = this.manifests.recheckAt;
    if (due && !this.recheckTimer && !this.stopped) {
      const held = [...this.manifests.held]; // recheckAt is set only with the files it holds
      this.recheckTimer = this.clock.setTimeout(
        () => {
          this.recheckTimer = null;
          for (const file of held) this.noticed('in-place write settled', file);
        },
        Math.max(0, due - this.clock.now()) + 10,
      );
    }
    return changed;
  }

  problems(): Problem[] {
    return this.manifests.problems();
  }

  rejectedCount(): number {
    return this.manifests.rejectedCount();
  }

  stop(): Promise<void> {
    this.stopped = true;
    if (this.recheckTimer !== null) this.clock.clearTimeout(this.recheckTimer);
    return this.watcher?.close() ?? Promise.resolve();
  }
}
