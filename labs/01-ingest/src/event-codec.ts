import type { z } from 'zod';
import type { CRMEvent, EnrichedEvent } from '../../../shared/schema.js';
import { API_ERRORS } from './errors.js';

/**
 * How an accepted event becomes a record value. Without one, buildApp checks the body against
 * CRMEvent and publishes JSON; lab 05's codec checks a v2 body and writes Avro via a registry.
 */
export interface EventCodec {
  /** The schema POST /track checks the body against (instead of CRMEvent). */
  bodySchema: z.ZodType<CRMEvent>;
  /** The record value for Kafka; rejects with EventEncodeError (anything else is a 500). */
  encode(event: EnrichedEvent): Promise<Buffer>;
  /**
   * POST /batch may use this codec: each event encodes on its own and a misfit (400) rejects only
   * that event. Unset (lab 05's Avro, whose registry outages /batch has no answer for): /batch is refused.
   */
  readonly batchable?: boolean;
}

/** The codes a codec may answer with (errors.ts holds their status and meaning). */
export type EncodeErrorCode = 'schema_mismatch' | 'schema_not_registered' | 'schema_registry_unavailable';

/** The codec refused the event (400: it does not fit) or cannot encode it now (503: retry). */
export class EventEncodeError extends Error {
  constructor(readonly code: EncodeErrorCode, message: string) {
    super(message);
    this.name = 'EventEncodeError';
  }

  get status(): number {
    return API_ERRORS[this.code].status;
  }
}
