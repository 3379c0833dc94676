// Signals "something under root may have changed". The caller debounces, rescans and diffs
// signatures, so spurious signals are cheap and a missed one is the only real failure.
import { realpath, stat } from 'node:fs/promises';
import { watch, type FSWatcher } from 'chokidar';

const POLL_MS = 1000;

export function watchDirectory(root: string, onEvent: (why: string) => void): { close(): Promise<void> } {
  let watcher: FSWatcher | undefined;
  let identity: string | undefined; // dev:ino of the directory being watched
  let closed = false;
  let checking = false;

  const signal = (why: string) => {
    if (!closed) onEvent(why);
  };

  async function detach(): Promise<void> {
    const w = watcher;
    watcher = undefined;
    identity = undefined;
    await w?.close().catch((err: unknown) => signal(`watch error: ${String(err)}`));
  }

  async function attach(id: string): Promise<void> {
    const real = await realpath(root);
    identity = id;
    // Symlinks are not followed: scanDirectory only reads link targets inside root, which are watched
    // directly, and ConfigMap volume swaps show up as changes to the ..data link itself.
    const w = watch(real, { ignoreInitial: true, followSymlinks: false, persistent: true });
    watcher = w;
    w.on('all', (event, p) => signal(`${event} ${p}`));
    w.on('error', (err) => signal(`watch error: ${err instanceof Error ? err.message : String(err)}`));
    // Anything created between the caller's scan and this point is covered by one more rescan.
    w.on('ready', () => signal(`watching ${root}`));
  }

  // Polls root itself: it may not exist yet, or be deleted, recreated or re-pointed (symlink).
  async function check(): Promise<void> {
    if (checking || closed) return;
    checking = true;
    try {
      const st = await stat(root).catch(() => undefined);
      const id = st?.isDirectory() ? `${st.dev}:${st.ino}` : undefined;
      if (id === identity) return;
      if (watcher) {
        await detach();
        signal(id ? `${root} was replaced` : `${root} was removed`);
      }
      if (id && !closed) await attach(id);
    } catch (err) {
      signal(`watch error: ${err instanceof Error ? err.message : String(err)}`);
      await detach();
    } finally {
      checking = false;
    }
  }

  void check();
  const timer = setInterval(() => void check(), POLL_MS);

  return {
    async close() {
      closed = true;
      clearInterval(timer);
      // Wait for a check in flight so no watcher is attached after close.
      while (checking) await new Promise((r) => setTimeout(r, 10));
      await detach();
    },
  };
}
