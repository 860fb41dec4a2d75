/** What the processor writes: one record shape per output topic, keyed by user_id. */

/** `crm-user-hourly`: the final count per event_type of one user's tumbling hour, written once when the window closes. */
export interface HourlyCount {
  user_id: string;
  window_start: string;
  window_end: string;
  /** event_type → events, keys sorted. */
  counts: Record<string, number>;
  total: number;
}

/** `crm-user-activity-15m`: one user's events in a 15-minute window advancing each minute, as events per minute. */
export interface ActivityAverage {
  user_id: string;
  window_start: string;
  window_end: string;
  events: number;
  events_per_minute: number;
}

/** `crm-user-logins`: one record per login event, carrying the count after it (1, 2, 3, …: a repeat is a double count). */
export interface LoginCount {
  user_id: string;
  login_count: number;
  event_id: string;
}

/** `crm-user-late-events`: an event that arrived after the windows it belongs to had closed; not counted in them. */
export interface LateEvent {
  user_id: string;
  event_id: string;
  event_type: string;
  event_time: string;
  /** The partition's stream time (the largest event time seen) when it arrived. */
  stream_time: string;
  /** Which windowed outputs left it out: the hourly count, the activity average, or both. */
  missed: ('hourly' | 'activity')[];
}

export type OutputKind = 'hourly' | 'activity' | 'logins' | 'late';

export type Output =
  | { kind: 'hourly'; key: string; value: HourlyCount }
  | { kind: 'activity'; key: string; value: ActivityAverage }
  | { kind: 'logins'; key: string; value: LoginCount }
  | { kind: 'late'; key: string; value: LateEvent };
