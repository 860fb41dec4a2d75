import { z } from 'zod';

/** What a client sends to POST /track. Unknown fields are rejected so typos surface as 400s. */
export const CRMEvent = z
  .object({
    user_id: z.string().min(1).max(128),
    event_type: z.string().min(1).max(64),
    properties: z.record(z.string(), z.unknown()).default({}),
    /** When the event happened on the client (ISO 8601). */
    timestamp: z.iso.datetime({ offset: true }).optional(),
    /**
     * Optional idempotency key: a client that retries after a timeout or 503 sends the same
     * event_id again, so the workers can recognise the duplicate.
     */
    event_id: z.uuid().optional(),
  })
  .strict();

export type CRMEvent = z.infer<typeof CRMEvent>;

/** What the API writes to Kafka: the client's event plus the server's enrichment. */
export const EnrichedEvent = CRMEvent.extend({
  event_id: z.uuid(),
  server_timestamp: z.iso.datetime(),
  client_ip: z.string(),
  request_id: z.string().optional(),
});

export type EnrichedEvent = z.infer<typeof EnrichedEvent>;

/** One readable line per problem, e.g. `user_id: Invalid input: expected string, received number`. */
export function describeIssues(error: z.ZodError): { message: string; issues: { path: string; message: string }[] } {
  const issues = error.issues.map((issue) => ({
    path: issue.path.length ? issue.path.join('.') : '(body)',
    message: issue.message,
  }));
  return { message: issues.map((i) => `${i.path}: ${i.message}`).join('; '), issues };
}
