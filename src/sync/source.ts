// Where the sync loop's resources come from. A source loads what it knows into the store the loop plans
// from, and says when something may have changed; the loop debounces and asks every source to load.
// Today the manifest directory (src/sources/directory-source.ts); a Kubernetes API source plugs in beside it.
import type { Problem } from '../resources.js';

export interface Source {
  /** Begin noticing changes; each one is reported through onChange (many calls per change are fine). */
  start(onChange: () => void): void;
  /**
   * Load into the store what changed since the last load (everything there is when full); whether
   * anything did change.
   */
  load(full: boolean): Promise<boolean>;
  /** What the last load reported: unreadable files, rejected documents, objects defined twice. */
  problems(): Problem[];
  /** How many documents (or whole files) the last load rejected. */
  rejectedCount(): number;
  /** Stop noticing changes (at once: no event after this returns), then release what it holds. */
  stop(): Promise<void>;
}

/** Several sources feeding one store, as one: each is started, loaded and stopped with the others. */
export function combineSources(...sources: Source[]): Source {
  return {
    start: (onChange) => {
      for (const source of sources) source.start(onChange);
    },
    load: async (full) => {
      let changed = false;
      for (const source of sources) if (await source.load(full)) changed = true;
      return changed;
    },
    problems: () => sources.flatMap((source) => source.problems()),
    rejectedCount: () => sources.reduce((sum, source) => sum + source.rejectedCount(), 0),
    stop: async () => {
      await Promise.all(sources.map((source) => source.stop()));
    },
  };
}
