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
  o: WaitOptions = {},
): Promise<Exclude<T, undefined | null | false>> {
  const deadline = Date.now() + (o.timeoutMs ?? 10_000);
  let last: unknown = 'never called';
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== null && v !== false) return v as Exclude<T, undefined | null | false>;
      last = v;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) break;
    await sleep(o.intervalMs ?? 25);
  }
  const detail = last instanceof Error ? last.message : JSON.stringify(last);
  throw new Error(
    `timed out after ${o.timeoutMs ?? 10_000} ms waiting for ${o.what ?? 'a condition'}; last: ${detail}`,
  );
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
