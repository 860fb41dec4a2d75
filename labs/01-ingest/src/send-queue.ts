/**
 * The events an API replica holds for its next produce request, oldest first, with their bytes
 * counted: capped as a whole (memory), and cut into batches that fit one produce request.
 * Pure bookkeeping, no Kafka: see test/send-queue.test.ts.
 */
export interface Sized {
  bytes: number;
  /** When it joined the queue (ms, any monotonic clock). */
  enqueuedAt: number;
}

export interface QueueLimits {
  maxEvents: number;
  maxBytes: number;
}

export class SendQueue<T extends Sized> {
  /** A Set keeps insertion order and removes an expired entry in O(1). */
  private readonly entries = new Set<T>();
  private queuedBytes = 0;

  constructor(private readonly limits: QueueLimits) {}

  get size(): number {
    return this.entries.size;
  }

  get bytes(): number {
    return this.queuedBytes;
  }

  /** Adds the entry unless the queue would exceed its limits; false = refused. */
  offer(entry: T): boolean {
    if (this.entries.size >= this.limits.maxEvents || this.queuedBytes + entry.bytes > this.limits.maxBytes) return false;
    this.entries.add(entry);
    this.queuedBytes += entry.bytes;
    return true;
  }

  /** Removes an entry that is still queued (e.g. its request timed out); false if it was not. */
  remove(entry: T): boolean {
    if (!this.entries.delete(entry)) return false;
    this.queuedBytes -= entry.bytes;
    return true;
  }

  /** How long the oldest entry has waited, or undefined when empty. */
  oldestWait(now: number): number | undefined {
    const first = this.entries.values().next();
    return first.done ? undefined : now - first.value.enqueuedAt;
  }

  /** Whether a batch of these limits could be filled now. */
  fills(batch: QueueLimits): boolean {
    return this.entries.size >= batch.maxEvents || this.queuedBytes >= batch.maxBytes;
  }

  /**
   * Removes and returns the oldest entries that fit in one batch: at most `batch.maxEvents`, and
   * at most `batch.maxBytes` unless a single entry is larger (it then travels alone).
   */
  takeBatch(batch: QueueLimits): T[] {
    const out: T[] = [];
    let bytes = 0;
    for (const entry of this.entries) {
      if (out.length >= batch.maxEvents) break;
      if (out.length > 0 && bytes + entry.bytes > batch.maxBytes) break;
      out.push(entry);
      bytes += entry.bytes;
    }
    for (const entry of out) this.remove(entry);
    return out;
  }
}
