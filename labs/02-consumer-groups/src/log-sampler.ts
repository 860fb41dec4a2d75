/**
 * Caps the per-event log lines a worker writes: up to `perSecond` lines in each second, the rest
 * counted. One synchronous JSON line per event costs about as much as applying the event in a
 * batch, so under load the lines would be most of the worker's work; at a learner's pace (a few
 * events per second) every event still gets its line.
 */
export class LogSampler {
  private windowStart = 0;
  private inWindow = 0;
  private skipped = 0;

  constructor(private readonly perSecond: number, private readonly now: () => number = Date.now) {}

  /** True when this event may have its own line. */
  take(): boolean {
    const now = this.now();
    if (now - this.windowStart >= 1_000) {
      this.windowStart = now;
      this.inWindow = 0;
    }
    if (this.inWindow < this.perSecond) {
      this.inWindow++;
      return true;
    }
    this.skipped++;
    return false;
  }

  /** Lines not written since the last call. */
  drainSkipped(): number {
    const skipped = this.skipped;
    this.skipped = 0;
    return skipped;
  }
}
