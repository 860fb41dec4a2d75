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
  private lastSummary = -Infinity;

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

  /**
   * Lines not written since the last summary, at most once per `intervalMs` (0 until then): one
   * summary line per transaction would itself be a line per few events under paced load.
   */
  drainSkippedIfDue(intervalMs = 1_000): number {
    const now = this.now();
    if (this.skipped === 0 || now - this.lastSummary < intervalMs) return 0;
    this.lastSummary = now;
    return this.drainSkipped();
  }

  /** Lines not written since the last call. */
  drainSkipped(): number {
    const skipped = this.skipped;
    this.skipped = 0;
    return skipped;
  }
}
