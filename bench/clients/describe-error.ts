/**
 * One line for a client's error, down to the broker's error code: the clients wrap it differently
 * (kafkajs: `type`; librdkafka: `code`; @platformatic/kafka: AggregateError `errors` and `cause`
 * around a ProtocolError with `apiId`).
 */
export function describeError(error: unknown, depth = 0): string {
  if (!(error instanceof Error) || depth > 4) return String(error).slice(0, 160);
  const e = error as Error & { type?: string; code?: unknown; apiId?: string; errors?: unknown[] };
  const name = e.apiId ?? e.type ?? (typeof e.code === 'string' ? e.code : undefined);
  const own = `${name ? `${name}: ` : ''}${e.message}`.slice(0, 160);
  const inner = e.errors?.[0] ?? e.cause;
  return inner === undefined ? own : `${own} ← ${describeError(inner, depth + 1)}`;
}
