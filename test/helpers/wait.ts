// Polling with a deadline: tests wait for observable effects, never for fixed times.

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  what?: string; // for the timeout message
}

/**
 * Call fn until it returns something other than undefined, null or false; return that. A throw counts
 * as "not yet" and is quoted in the timeout error, which helps when an assertion inside fn never holds.
 */
export async function waitFor<T>(
  fn: () => T | Promise<T>,
  options: WaitOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let last: unknown = 'never called';
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined && value !== null && value !== false)
        return value as Exclude<T, undefined | null | false>;
      last = value;
    } catch (err) {
      last = err;
    }
    if (Date.now() >= deadline) break;
    await sleep(options.intervalMs ?? 25);
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(
    `timed out after ${options.timeoutMs ?? 10_000} ms waiting for ${options.what ?? 'a condition'}; last: ${detail}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
