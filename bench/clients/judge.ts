/**
 * Acked vs stored, as a pure function of what the producer was told (the ledger) and what the
 * topic holds (sequence number → copies). Unit-tested in test/judge.test.ts on tiny ledgers.
 */

/** What one phase's sends were answered, by message sequence number. */
export interface Ledger {
  sent: number;
  acked: number[];
  /** Messages of sends that rejected: their outcome is unknown to the sender, so they may be stored. */
  failed: number[];
  /** Messages still unanswered when the phase gave up waiting. */
  unanswered: number;
}

export interface Verdict {
  acked: number;
  /** Acked messages found in the topic. */
  stored: number;
  /** Acked but not in the topic: the defect the bench looks for. */
  lost: number;
  lostSample: number[];
  /** Messages stored more than once (idempotence should make this 0). */
  duplicated: number;
  /** Messages of failed sends that the broker did write (not a defect: the sender must retry them). */
  failedButStored: number;
  /** Sequence numbers in the topic beyond what this phase sent. */
  unexpected: number;
}

export function judge(ledger: Ledger, copies: ReadonlyMap<number, number>): Verdict {
  const lostSeqs = ledger.acked.filter((seq) => !copies.has(seq));
  let duplicated = 0;
  let unexpected = 0;
  for (const [seq, n] of copies) {
    if (n > 1) duplicated++;
    if (seq < 0 || seq >= ledger.sent) unexpected++;
  }
  return {
    acked: ledger.acked.length,
    stored: ledger.acked.length - lostSeqs.length,
    lost: lostSeqs.length,
    lostSample: lostSeqs.slice(0, 5),
    duplicated,
    failedButStored: ledger.failed.filter((seq) => copies.has(seq)).length,
    unexpected,
  };
}
