/**
 * Every error code the ingest API and its nginx edge answer with: one table, so a code always
 * means one status, and a client knows from the code alone whether retrying can help. The error
 * table of labs/01-ingest/README.md lists the same codes (test/errors.test.ts checks both ways).
 */
export const API_ERRORS = {
  invalid_request: { status: 400, retryable: false, meaning: 'not a JSON event or batch: malformed or empty JSON, bad gzip, wrong top-level shape' },
  validation_failed: { status: 400, retryable: false, meaning: 'JSON, but not a valid event (or holding a number a double cannot store as sent); `issues` names each field' },
  schema_mismatch: { status: 400, retryable: false, meaning: 'lab 05\'s Avro API: a valid event that its Avro schema cannot hold (e.g. a nested property)' },
  segment_too_large: { status: 400, retryable: false, meaning: '/v1 (Segment\'s API): a request over 500 KB after gzip decompression, answered 400 as Segment does (nginx answers 413 above 500 KB on the wire; a message over 32 KB is a `validation_failed` issue)' },
  missing_write_key: { status: 401, retryable: false, meaning: 'lab 07: POST /track or /batch without `Authorization: Bearer <write key>`' },
  segment_unauthorized: { status: 401, retryable: false, meaning: '/v1 (Segment\'s API): no write key as the Basic-auth username, or one that is unknown or revoked (lab 07\'s keys; else the default `crm-lab`)' },
  invalid_write_key: { status: 403, retryable: false, meaning: 'lab 07: the write key is unknown or revoked' },
  forbidden_peer: { status: 403, retryable: false, meaning: 'lab 07: the connection does not come from the edge (API_ALLOWED_PEERS); send through nginx' },
  https_required: { status: 403, retryable: false, meaning: 'lab 07\'s TLS edge: plain HTTP is refused, not redirected; send to the HTTPS port and treat a key sent in clear as exposed (nginx also answers plain HTTP sent to the HTTPS port with it)' },
  not_found: { status: 404, retryable: false, meaning: 'no such endpoint (the edge serves only /track, /batch, /v1/ and /health; lab 05\'s Avro API serves no /batch nor /v1/)' },
  method_not_allowed: { status: 405, retryable: false, meaning: 'nginx: a method the edge never serves (TRACE)' },
  payload_too_large: { status: 413, retryable: false, meaning: 'body (after gzip decompression) or batch over its limit' },
  uri_too_long: { status: 414, retryable: false, meaning: 'nginx: the request line is over 8 KiB (`large_client_header_buffers`); events go in the body' },
  unsupported_media_type: { status: 415, retryable: false, meaning: 'Content-Type is not application/json, or declares a charset other than UTF-8' },
  unsupported_content_encoding: { status: 415, retryable: false, meaning: 'Content-Encoding is neither gzip nor identity' },
  rate_limited: { status: 429, retryable: true, meaning: 'over a per-IP limit (lab 07: per customer); wait `Retry-After` seconds' },
  request_headers_too_large: { status: 431, retryable: false, meaning: 'nginx: a header line over 8 KiB, or over 32 KiB of headers in all (nginx\'s own 494, sent as 431)' },
  internal_error: { status: 500, retryable: true, meaning: 'a bug (the event may be stored): retry with the same event_id' },
  not_implemented: { status: 501, retryable: false, meaning: 'nginx: a Transfer-Encoding other than chunked (compress with Content-Encoding: gzip)' },
  bad_gateway: { status: 502, retryable: true, meaning: 'nginx: every replica it tried failed' },
  kafka_unavailable: { status: 503, retryable: true, meaning: 'Kafka did not ack (maybe stored, maybe not): retry with the same event_id' },
  not_ready: { status: 503, retryable: true, meaning: '/ready on a replica: producer not connected or its last write failed' },
  schema_registry_unavailable: { status: 503, retryable: true, meaning: 'lab 05\'s Avro API: the schema registry did not answer and the writer schema id is not cached yet: retry with the same event_id' },
  schema_not_registered: { status: 503, retryable: true, meaning: 'lab 05\'s Avro API: its schema version is not registered under the topic\'s subject (run `npm run up`)' },
  overloaded: { status: 503, retryable: true, meaning: 'a replica past capacity (LOAD_SHED_MAX_IN_FLIGHT requests in flight, or the request waited LOAD_SHED_MAX_WAIT_MS since nginx forwarded it) shed it before reading its body: nothing stored, wait `Retry-After` seconds' },
  service_unavailable: { status: 503, retryable: true, meaning: 'nginx: no replica could take the request' },
  gateway_timeout: { status: 504, retryable: true, meaning: 'nginx: the replica did not answer in time (maybe stored): retry with the same event_id' },
  http_version_not_supported: { status: 505, retryable: false, meaning: 'nginx: an HTTP version other than 1.0 and 1.1' },
} as const satisfies Record<string, { status: number; retryable: boolean; meaning: string }>;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** Error bodies are always `{ error, message }` (plus details), so a client can show the reason. */
export function errorBody(error: ApiErrorCode, message: string, extra: Record<string, unknown> = {}) {
  return { error, message, ...extra };
}

/** Thrown by the app's own code; the error handler answers it with its code's status. */
export class ApiError extends Error {
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get statusCode(): number {
    return API_ERRORS[this.code].status;
  }
}
