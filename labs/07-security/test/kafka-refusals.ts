/** What a refused kafkajs call tells: the error names and Kafka error types along its cause chain. */
import type { Consumer } from 'kafkajs';

export function errorChain(error: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (e: any) => {
    if (!e || typeof e !== 'object' || seen.has(e)) return;
    seen.add(e);
    if (e.type) out.push(String(e.type));
    if (e.name) out.push(String(e.name));
    if (e.message) out.push(String(e.message));
    walk(e.cause);
    walk(e.originalError);
    for (const inner of e.errors ?? []) walk(inner);
  };
  walk(error);
  return out;
}

/** Runs `attempt`; returns its error chain when it was refused, or undefined when it went through. */
export async function refusal(attempt: () => Promise<unknown>): Promise<string[] | undefined> {
  try {
    await attempt();
    return undefined;
  } catch (error) {
    return errorChain(error);
  }
}

/** Starts the consumer and returns the error chain it crashed with (a consumer's refusals surface as a crash). */
export async function consumerCrash(consumer: Consumer, topic: string, timeoutMs = 30_000): Promise<string[] | undefined> {
  const crashed = new Promise<string[]>((resolve) => consumer.on(consumer.events.CRASH, ({ payload }) => resolve(errorChain(payload.error))));
  let received = 0;
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({ autoCommit: false, eachMessage: async () => { received++; } });
  } catch (error) {
    return errorChain(error);
  }
  const outcome = await Promise.race([crashed, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), timeoutMs))]);
  if (outcome === undefined) return received > 0 ? undefined : [`no crash and nothing read in ${timeoutMs} ms`];
  return outcome;
}

