// The sync loop's quiescence timer (as consul-template's runner has one): a burst of events becomes one
// sync, minWait after the latest event, but never later than maxWait after the first, so a steady
// stream of changes cannot postpone the sync forever. The clock is injected: tests drive it by hand.
import { systemClock } from './clock.js';
import type { Clock } from './clock.js';

export class Debouncer {
  private timer: unknown = null;
  private first = 0; // when the first event of the pending burst came; 0: none pending

  constructor(
    private readonly minWaitMs: number,
    private readonly maxWaitMs: number,
    private readonly fire: () => void,
    private readonly clock: Clock = systemClock,
  ) {}

  /** An event: (re)schedule the sync. */
  note(): void {
    const now = this.clock.now();
    if (!this.first) this.first = now;
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    const due = Math.min(now + this.minWaitMs, this.first + this.maxWaitMs);
    this.timer = this.clock.setTimeout(
      () => {
        this.timer = null;
        this.fire();
      },
      Math.max(0, due - now),
    );
  }

  /** When the pending burst began (or now, with none pending), and forget it: a sync starts. */
  take(): number {
    const seenAt = this.first || this.clock.now();
    this.first = 0;
    return seenAt;
  }

  cancel(): void {
    if (this.timer !== null) this.clock.clearTimeout(this.timer);
    this.timer = null;
  }
}
