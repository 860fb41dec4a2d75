/**
 * Events per produce request during a phase, from the replicas' own `kafka_producer_batch_events`
 * histogram (sum and count, scraped before and after). It says how well requests shared produce
 * requests under that phase's load: the measured half of "why did the replicas' CPU per request change".
 */

/** Sum and count of the histogram over the replicas, or undefined when none answered. */
async function scrape(urls: string[]): Promise<{ sum: number; count: number } | undefined> {
  let sum = 0;
  let count = 0;
  let answered = 0;
  for (const url of urls) {
    try {
      const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) })).text();
      sum += Number(/^kafka_producer_batch_events_sum(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
      count += Number(/^kafka_producer_batch_events_count(?:\{[^}]*\})? (\S+)$/m.exec(text)?.[1] ?? 0);
      answered++;
    } catch {
      /* a replica that does not answer adds nothing */
    }
  }
  return answered > 0 ? { sum, count } : undefined;
}

/** Starts measuring; `stop()` answers the mean events per produce request since, or undefined (none sent, or no replica answered). */
export async function producerBatches(urls: string[] | undefined): Promise<{ stop(): Promise<number | undefined> }> {
  const before = urls?.length ? await scrape(urls) : undefined;
  return {
    async stop() {
      if (!before) return undefined;
      const after = await scrape(urls!);
      const requests = (after?.count ?? 0) - before.count;
      return after && requests > 0 ? (after.sum - before.sum) / requests : undefined;
    },
  };
}
