/**
 * Fault points: a crash placed exactly where a test wants it, in one replica process. Off unless
 * that process is started with `FAULT_POINT` set (never by `npm run up`, never by default):
 *
 * - `FAULT_POINT=after-ack-before-reply`: the replica SIGKILLs itself once POST /track's event was
 *   acked by Kafka (acks=all) and before its 202 is written. The event is stored; the client sees
 *   its connection cut and cannot tell. Its retry may write a second copy, which the workers'
 *   event_id dedupe absorbs when the retry carries the same event_id
 *   (test/ack-then-crash.test.ts).
 *
 * The variable is read here, not by shared/config.ts (whose schema ignores variables it does not
 * name); an unknown value stops the replica at start, so a typo cannot silently disable a test's fault.
 */
import type { FastifyInstance, onSendHookHandler } from 'fastify';

export const FAULT_POINTS = ['after-ack-before-reply'] as const;
export type FaultPoint = (typeof FAULT_POINTS)[number];

/** The fault point `env` turns on, if any; throws on a value that names none. */
export function faultPointFrom(env: NodeJS.ProcessEnv = process.env): FaultPoint | undefined {
  const value = env.FAULT_POINT;
  if (value === undefined || value === '') return undefined;
  if ((FAULT_POINTS as readonly string[]).includes(value)) return value as FaultPoint;
  throw new Error(`invalid configuration: FAULT_POINT (=${value}): expected one of ${FAULT_POINTS.join(', ')}`);
}

/**
 * An onSend hook: /track's 202 is only ever produced after the broker's ack, so when it is about to
 * be written the event is in Kafka. SIGKILL (not process.exit): no handler, no flush, as a crash.
 */
const killBeforeAcceptedReply: onSendHookHandler = (request, reply, payload, done) => {
  if (reply.statusCode === 202 && request.routeOptions.url === '/track') {
    process.kill(process.pid, 'SIGKILL');
    // Node as PID 1 of a container (LAB_RUNTIME=containers) does not receive its own SIGKILL: exit at once instead.
    process.exit(137);
  }
  done(null, payload);
};

/** Installs the fault point the environment asks for (none by default: no hook, no cost). */
export function installFaultPoint(app: FastifyInstance, env: NodeJS.ProcessEnv = process.env): void {
  if (faultPointFrom(env) === 'after-ack-before-reply') app.addHook('onSend', killBeforeAcceptedReply);
}
