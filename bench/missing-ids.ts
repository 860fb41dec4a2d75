import { readTopic, type ReadRecord } from '../shared/kafka.js';

/** Of `ids` (answered 202), the ones not found in `topic`: each record is named by `idOf` (its event_id by default). */
export async function missingIds(brokers: string[], topic: string, ids: Iterable<string>,
  idOf: (record: ReadRecord) => string | undefined = (r) => r.value?.event_id): Promise<string[]> {
  const stored = new Set((await readTopic(brokers, topic, 300_000)).map(idOf));
  return [...ids].filter((id) => !stored.has(id));
}
