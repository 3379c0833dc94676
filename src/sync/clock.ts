// Time for the sync loop's decisions (debounce, spacing reloads, how long pushes have been failing, how long
// stop() waits), injected so that unit tests drive it by hand (test/helpers/sync-fakes.ts) and run in
// milliseconds. Durations that are only measured for metrics keep process.hrtime.

export interface Clock {
  now(): number; // epoch milliseconds
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** A repeating timer that does not keep the process alive on its own. */
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
  setInterval: (fn, ms) => setInterval(fn, ms).unref(),
  clearInterval: (handle) => clearInterval(handle as NodeJS.Timeout),
};

/** Waits for work (its failure too), but no longer than ms. */
export async function settleWithin(work: Promise<unknown> | null | undefined, ms: number, clock: Clock): Promise<void> {
  if (!work) return;
  let timer: unknown;
  await Promise.race([
    work.catch(() => undefined),
    new Promise((resolve) => {
      timer = clock.setTimeout(() => resolve(undefined), ms);
    }),
  ]);
  clock.clearTimeout(timer);
}
