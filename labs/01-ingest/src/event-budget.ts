/**
 * The per-IP limit of POST /batch, counted in events rather than requests: a batch of 500 costs
 * 500. A fixed window per key, in this process's memory (like /track's request limit), so each
 * replica counts alone. A batch that does not fit the rest of the window is refused whole.
 */
export class EventBudget {
  private readonly windows = new Map<string, { startedMs: number; used: number }>();
  private lastSweepMs = 0;

  constructor(readonly max: number, readonly windowMs: number) {}

  take(key: string, cost: number, nowMs = Date.now()): { ok: true; remaining: number } | { ok: false; remaining: number; retryAfterS: number } {
    this.sweep(nowMs);
    let window = this.windows.get(key);
    if (!window || nowMs - window.startedMs >= this.windowMs) {
      window = { startedMs: nowMs, used: 0 };
      this.windows.set(key, window);
    }
    const remaining = this.max - window.used;
    if (cost > remaining) {
      return { ok: false, remaining, retryAfterS: Math.max(1, Math.ceil((window.startedMs + this.windowMs - nowMs) / 1000)) };
    }
    window.used += cost;
    return { ok: true, remaining: remaining - cost };
  }

  /** Forgets expired windows, at most once a window, so idle clients do not pile up. */
  private sweep(nowMs: number): void {
    if (nowMs - this.lastSweepMs < this.windowMs) return;
    this.lastSweepMs = nowMs;
    for (const [key, window] of this.windows) if (nowMs - window.startedMs >= this.windowMs) this.windows.delete(key);
  }
}
