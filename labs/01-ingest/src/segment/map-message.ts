/**
 * One Segment message (any of its six types) → the CRM event the API publishes, or the reasons it is
 * refused. Pure: the caller gives the write key, the receive time and the batch's sentAt.
 */
import type { z } from 'zod';
import { PROPERTIES_MAX_DEPTH, nestingDepth, type CRMEvent, type Issue, type SegmentFields } from '../../../../shared/schema.js';
import { checkEvent } from '../check-event.js';
import { segmentEventId } from './event-id.js';
import { SEGMENT_MESSAGE_MAX_BYTES } from './limits.js';
import { correctedTimestamp } from './skew.js';

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/**
 * Where each type carries its payload, which becomes the CRM event's `properties` (alias has none).
 * A track becomes an event of its `event` name; every other type an event of the type's own name
 * (`identify`, `page`, …), its other fields (`name`, `groupId`, `previousId`, …) kept in `segment.message`.
 */
const PAYLOAD_FIELD: Record<SegmentType, 'properties' | 'traits' | undefined> = {
  track: 'properties', identify: 'traits', page: 'properties', screen: 'properties', group: 'traits', alias: undefined,
};

/** user_id of a message with only an anonymousId: prefixed, so an anonymous visitor "42" is not user "42". */
export const ANONYMOUS_PREFIX = 'anon:';

/** The message itself is level 1, so properties and traits keep the /track limit of PROPERTIES_MAX_DEPTH. */
const MESSAGE_MAX_DEPTH = PROPERTIES_MAX_DEPTH + 1;

export interface MessageContext {
  writeKey: string;
  receivedAtMs: number;
  /** The type the route implies (/v1/track, /v1/identify); undefined on /v1/batch, where each message names its own. */
  routeType?: SegmentType;
  /** The batch's sentAt, as sent (/v1/batch); a message's own sentAt wins. */
  batchSentAt?: unknown;
  /** Lab 05's body schema, when the API has one (see checkEvent). */
  schema?: z.ZodType<CRMEvent> | undefined;
}

export type MappedMessage =
  | { ok: true; event: CRMEvent; segment: SegmentFields }
  | { ok: false; issues: Issue[] };

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

export function mapSegmentMessage(message: unknown, context: MessageContext): MappedMessage {
  if (!isObject(message)) return refused('(message)', 'must be a JSON object');
  // Size is measured on JSON.stringify, which recurses: the depth is checked first, without recursion.
  if (nestingDepth(message, MESSAGE_MAX_DEPTH) > MESSAGE_MAX_DEPTH) return refused('(message)', `nested more than ${MESSAGE_MAX_DEPTH} levels deep`);
  const bytes = Buffer.byteLength(JSON.stringify(message));
  if (bytes > SEGMENT_MESSAGE_MAX_BYTES) return refused('(message)', `${bytes} bytes as JSON; Segment's limit is 32 KB (${SEGMENT_MESSAGE_MAX_BYTES} bytes) per message`);

  const type = message.type ?? context.routeType;
  if (!SEGMENT_TYPES.includes(type as SegmentType) || (context.routeType && type !== context.routeType)) {
    return refused('type', `${JSON.stringify(type ?? null)} is not taken here: ${context.routeType ? `this endpoint takes "${context.routeType}"` : `a batch takes ${SEGMENT_TYPES.map((t) => `"${t}"`).join(', ')} messages`}`);
  }
  const issues: Issue[] = [];
  const { userId, anonymousId, messageId } = message;
  if (userId === undefined && anonymousId === undefined) issues.push({ path: 'userId', message: 'a message needs a userId or an anonymousId' });
  if (anonymousId !== undefined && typeof anonymousId !== 'string') issues.push({ path: 'anonymousId', message: 'must be a string' });
  if (messageId !== undefined && (typeof messageId !== 'string' || messageId.length === 0 || messageId.length > 256)) {
    issues.push({ path: 'messageId', message: 'must be a string of 1–256 characters' });
  }
  const time = correctedTimestamp(message.timestamp, message.sentAt ?? context.batchSentAt, context.receivedAtMs);
  if (!time.ok) issues.push({ path: time.path, message: time.message });
  if (issues.length) return { ok: false, issues };

  const payloadField = PAYLOAD_FIELD[type as SegmentType];
  const payload = payloadField === undefined ? undefined : message[payloadField];
  const candidate = {
    user_id: userId ?? `${ANONYMOUS_PREFIX}${anonymousId as string}`,
    event_type: type === 'track' ? message.event : type,
    ...(payload === undefined ? {} : { properties: payload }),
    ...(time.ok && time.timestamp !== undefined ? { timestamp: time.timestamp } : {}),
    ...(typeof messageId === 'string' ? { event_id: segmentEventId(context.writeKey, messageId) } : {}),
  };
  const check = checkEvent(candidate, { nowMs: context.receivedAtMs, invalidUtf8: false, schema: context.schema });
  if (!check.ok) return { ok: false, issues: check.issues.map((issue) => renamed(issue, payloadField ?? 'properties', userId === undefined)) };

  // What the CRM event has no field for stays with it as sent: the whole message but the payload
  // (already in `properties`) and a write key in the body (a secret; the Basic-auth one counts).
  const rest: Record<string, unknown> = { ...message };
  delete rest.writeKey;
  if (payloadField !== undefined) delete rest[payloadField];
  return {
    ok: true,
    event: check.event,
    segment: {
      message: rest,
      ...(message.sentAt === undefined && typeof context.batchSentAt === 'string' ? { batchSentAt: context.batchSentAt } : {}),
      receivedAt: new Date(context.receivedAtMs).toISOString(),
    },
  };
}

const refused = (path: string, message: string): MappedMessage => ({ ok: false, issues: [{ path, message }] });

/** A CRM field's issue under the Segment field it came from. */
function renamed(issue: Issue, payloadField: string, anonymous: boolean): Issue {
  const [head, ...tail] = issue.path.split('.');
  switch (head) {
    case 'user_id':
      return anonymous
        ? { path: 'anonymousId', message: `${issue.message} (stored as user_id "${ANONYMOUS_PREFIX}<anonymousId>")` }
        : { path: 'userId', message: issue.message };
    case 'event_type': return { path: 'event', message: issue.message };
    case 'properties': return { path: [payloadField, ...tail].join('.'), message: issue.message };
    case 'timestamp': return { path: 'timestamp', message: `${issue.message} (after clock-skew correction)` };
    default: return issue;
  }
}
