/** Segment's HTTP API authentication: the write key is the Basic-auth username, the password empty. */
import type { FastifyRequest } from 'fastify';
import { ApiError } from '../errors.js';
import type { Authenticate } from '../edge-guards.js';
import { setCustomer } from '../request-customer.js';

/**
 * The one key the plain stack (labs 01–06, no write keys) takes on /v1: it checks that the SDK is
 * configured, not who sent (anyone may POST /track there). Lab 07's stack takes its own keys instead.
 */
export const DEFAULT_SEGMENT_WRITE_KEY = 'crm-lab';

/** The Basic-auth username of an Authorization header, or undefined when there is none. */
export function basicAuthUsername(header: string | undefined): string | undefined {
  const encoded = /^Basic +([A-Za-z0-9+/=]+)$/i.exec(header ?? '')?.[1];
  if (encoded === undefined) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const username = decoded.split(':', 1)[0]!;
  return username.length > 0 ? username : undefined;
}

const writeKeys = new WeakMap<object, string>();

/** The write key the request was authenticated with (set by segmentWriteKeyHook). */
export function writeKeyOf(request: object): string {
  const key = writeKeys.get(request);
  if (key === undefined) throw new Error('no write key recorded for this request');
  return key;
}

/**
 * An onRequest hook for the /v1 routes: 401 `segment_unauthorized` (as Segment answers, and its SDKs
 * do not retry) without a write key, or with one that `authenticate` (lab 07) or the default does not
 * know. Lab 07's customer goes on the request, for enrich().
 */
export function segmentWriteKeyHook(authenticate: Authenticate | undefined) {
  return async (request: FastifyRequest, reply: { header(name: string, value: string): unknown }) => {
    const refuse = (message: string) => {
      reply.header('www-authenticate', 'Basic realm="crm-event-lab"');
      return new ApiError('segment_unauthorized', message);
    };
    const writeKey = basicAuthUsername(request.headers.authorization);
    if (writeKey === undefined) {
      throw refuse('send your write key as the Basic-auth username (Authorization: Basic base64("<write key>:")), as Segment\'s SDKs do');
    }
    if (authenticate) {
      const customerId = authenticate(writeKey);
      if (customerId === undefined) throw refuse('the write key is unknown or has been revoked');
      setCustomer(request, customerId);
    } else if (writeKey !== DEFAULT_SEGMENT_WRITE_KEY) {
      throw refuse(`unknown write key; without lab 07's keys this edge takes "${DEFAULT_SEGMENT_WRITE_KEY}"`);
    }
    writeKeys.set(request, writeKey);
  };
}
