/** Window sizes of lab 06's three outputs; all times are epoch milliseconds of event time. */
export const MINUTE_MS = 60_000;
export const HOUR_MS = 60 * MINUTE_MS;

/** The rolling window: 15 minutes, advancing each minute (a hopping window; Kafka Streams' `TimeWindows.advanceBy`). */
export const ACTIVITY_WINDOW_MS = 15 * MINUTE_MS;
export const ACTIVITY_ADVANCE_MS = MINUTE_MS;

/** The tumbling hour an event time falls in: [start, start + 1 h). */
export const hourStartOf = (t: number) => Math.floor(t / HOUR_MS) * HOUR_MS;

export const minuteStartOf = (t: number) => Math.floor(t / MINUTE_MS) * MINUTE_MS;

/** Starts of every activity window holding minute `m` (15 of them, oldest first). */
export function activityWindowStartsHolding(minute: number): number[] {
  const starts: number[] = [];
  for (let s = minute - ACTIVITY_WINDOW_MS + ACTIVITY_ADVANCE_MS; s <= minute; s += ACTIVITY_ADVANCE_MS) starts.push(s);
  return starts;
}

export const iso = (t: number) => new Date(t).toISOString();
