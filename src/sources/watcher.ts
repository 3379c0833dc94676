// Signals "something under root may have changed", naming the file when the event does. The caller
// debounces, looks at the named files (or rescans everything when a signal names none) and diffs
// signatures, so spurious signals are cheap and a missed one is the only real failure.
import { watch as fsWatch, type FSWatcher as ParentWatcher } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

const POLL_MS = 1000;

const reason = (err: unknown) => `watch error: ${err instanceof Error ? err.message : String(err)}`;

/** file: the absolute path concerned, when the event is about one file (not a directory). */
export type WatchListener = (why: string, file?: string) => void;

export function watchDirectory(root: string, onEvent: WatchListener): { close(): Promise<void> } {
  let watcher: FSWatcher | undefined;
  let parent: ParentWatcher | undefined;
  let identity: string | undefined; // of the directory being watched
  let stale = false; // root's entry in its parent changed: re-attach even if the identity looks equal
  let closed = false;
  let checking: Promise<void> | undefined;

  const signal = (why: string, file?: string) => {
    if (!closed) onEvent(why, file);
  };

  async function detach(): Promise<void> {
    const previous = watcher;
    watcher = undefined;
    identity = undefined;
    await previous?.close().catch((err: unknown) => signal(reason(err)));
  }

  function attach(real: string, id: string): void {
    identity = id;
    // Symlinks are not followed: scanDirectory only reads link targets inside root, which are watched
    // directly, and ConfigMap volume swaps show up as changes to the ..data link itself.
    const fsWatcher = watch(real, { ignoreInitial: true, followSymlinks: false, persistent: true });
    watcher = fsWatcher;
    fsWatcher.on('all', (event, p) =>
      signal(
        `${event} ${p}`,
        event === 'add' || event === 'change' || event === 'unlink' ? path.resolve(p) : undefined,
      ),
    );
    // chokidar drops a second 'change' of the same path within 50 ms; the raw fs.watch events it sees
    // are never throttled, and a missed signal is the one failure that matters here. A raw event names
    // the entry inside the watched directory, or the watched file itself.
    fsWatcher.on('raw', (event, entry, details: unknown) => {
      const watched = (details as { watchedPath?: string } | undefined)?.watchedPath;
      const file =
        !entry || !watched
          ? undefined
          : path.basename(watched) === entry
            ? path.resolve(watched)
            : path.resolve(watched, entry);
      signal(`raw ${event} ${entry}`, file);
    });
    fsWatcher.on('error', (err) => signal(reason(err)));
    // Covers anything created before the watch was in place: the caller rescans once more.
    fsWatcher.on('ready', () => signal(`watching ${root}`));
  }

  // A delete-and-recreate can reuse the inode; the parent directory sees it at once.
  function watchParent(): void {
    if (parent) return;
    try {
      parent = fsWatch(path.dirname(root), { persistent: false }, (event, name) => {
        if (event === 'rename' && (name === null || String(name) === path.basename(root))) {
          stale = true;
          void check();
        }
      });
      parent.on('error', () => {
        parent?.close();
        parent = undefined;
      });
    } catch {
      parent = undefined; // no parent yet: the poll still works
    }
  }

  // Polls root itself: it may not exist yet, or be deleted, recreated or re-pointed (symlink).
  async function run(): Promise<void> {
    watchParent();
    const st = await stat(root).catch(() => undefined);
    const id = st?.isDirectory() ? `${st.dev}:${st.ino}:${st.birthtimeMs}` : undefined;
    if (id === identity && !(stale && watcher)) return;
    stale = false;
    if (watcher) {
      await detach();
      signal(id ? `${root} was replaced` : `${root} was removed`);
    }
    if (id && !closed) attach(await realpath(root), id);
  }

  function check(): Promise<void> {
    if (closed) return Promise.resolve();
    checking ??= run()
      .catch(async (err: unknown) => {
        signal(reason(err));
        await detach();
      })
      .finally(() => (checking = undefined));
    return checking;
  }

  void check();
  const timer = setInterval(() => void check(), POLL_MS);

  return {
    async close() {
      closed = true;
      clearInterval(timer);
      parent?.close();
      await checking; // so no watcher is attached after close
      await detach();
    },
  };
}
