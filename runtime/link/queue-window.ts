/**
 * The in-memory side of the outbound queue (outbound-queue.ts holds the on-disk log, its group commit and the
 * time-to-live rule): the queued messages in push order, the coalesced topics, the byte count `maxBytes` bounds,
 * and the overflow and time-to-live drops. It writes nothing; the queue turns what it drops into REMOVE records.
 *
 * Order: messages leave in push order, with one exception — coalescing. A message on a coalesced topic (the link
 * passes `state` and `state/...`) replaces the queued message on the same topic, and the new value takes the
 * position of its own push (the END of the queue), not the old one's: a snapshot is never sent before events
 * that were pushed before it. Replaying the log applies the same rule, so coalescing writes no extra record.
 *
 * Bounds and overflow ('drop-oldest'): when a push takes the queue over `maxMessages` or `maxBytes` (topic +
 * payload bytes), the oldest message that is NOT a retained state snapshot is dropped, repeatedly, until it fits;
 * only when nothing else is left are retained state snapshots dropped, oldest first (they are few, one per state
 * topic, and what a dashboard shows after the link comes back). Each drop is counted (stats().dropped) and written.
 */

export interface QueuedMessage {
  readonly seq: number;
  readonly topic: string;
  readonly payload: Buffer;
  readonly retain: boolean;
  readonly correlationData?: Buffer;
}

export interface QueueEntry extends QueuedMessage {
  readonly at: number; // when it was queued (clock ms), stored in its PUT record
  readonly size: number;
  readonly frameBytes: number;
  readonly protectedState: boolean;
}

export interface QueueWindowLimits {
  maxMessages: number;
  maxBytes: number;
  coalesce: (topic: string) => boolean;
}

export class QueueWindow {
  readonly #limits: QueueWindowLimits;
  readonly #entries = new Map<number, QueueEntry>();
  readonly #byTopic = new Map<string, number>(); // coalesced topic -> seq of its queued message
  #bytes = 0;
  #liveFrameBytes = 0;
  /** Drops since open; the queue's stats() reports them. */
  readonly counts = { dropped: 0, coalesced: 0, expired: 0 };

  constructor(limits: QueueWindowLimits) {
    this.#limits = limits;
  }

  get size(): number {
    return this.#entries.size;
  }
  /** Topic + payload bytes of the queued messages (what `maxBytes` bounds). */
  get bytes(): number {
    return this.#bytes;
  }
  /** Bytes the live messages' PUT records take in the log (compaction compares it with the file size). */
  get liveFrameBytes(): number {
    return this.#liveFrameBytes;
  }

  values(): IterableIterator<QueueEntry> {
    return this.#entries.values();
  }

  insert(seq: number, at: number, topic: string, payload: Buffer, retain: boolean, correlationData: Buffer | undefined, frameBytes: number, size: number): QueueEntry {
    const coalesced = this.#limits.coalesce(topic);
    if (coalesced) {
      const previous = this.#byTopic.get(topic);
      if (previous !== undefined && this.remove(previous)) this.counts.coalesced++;
      this.#byTopic.set(topic, seq);
    }
    const entry: QueueEntry = correlationData
      ? { seq, at, topic, payload, retain, size, frameBytes, protectedState: coalesced && retain, correlationData }
      : { seq, at, topic, payload, retain, size, frameBytes, protectedState: coalesced && retain };
    this.#entries.set(seq, entry);
    this.#bytes += entry.size;
    this.#liveFrameBytes += frameBytes;
    return entry;
  }

  remove(seq: number): boolean {
    const e = this.#entries.get(seq);
    if (e === undefined) return false;
    this.#entries.delete(seq);
    this.#bytes -= e.size;
    this.#liveFrameBytes -= e.frameBytes;
    if (this.#byTopic.get(e.topic) === seq) this.#byTopic.delete(e.topic);
    return true;
  }

  /**
   * Drops messages queued at or before `bornBefore` above `afterSeq`: from the head to the first young one, or all
   * with `all`. Returns the dropped sequence numbers.
   */
  expire(afterSeq: number, all: boolean, bornBefore: number): number[] {
    const gone: number[] = [];
    for (const e of this.#entries.values()) {
      if (e.seq <= afterSeq) continue;
      if (e.at <= bornBefore) gone.push(e.seq);
      else if (!all) break;
    }
    for (const seq of gone) this.remove(seq);
    this.counts.expired += gone.length;
    return gone;
  }

  /** The overflow policy (see the file comment); returns the dropped sequence numbers. */
  enforceBounds(): number[] {
    const dropped: number[] = [];
    while (this.#entries.size > this.#limits.maxMessages || this.#bytes > this.#limits.maxBytes) {
      let victim: QueueEntry | undefined;
      for (const e of this.#entries.values()) {
        if (!e.protectedState) {
          victim = e;
          break;
        }
      }
      victim ??= this.#entries.values().next().value;
      if (victim === undefined) break;
      this.remove(victim.seq);
      this.counts.dropped++;
      dropped.push(victim.seq);
    }
    return dropped;
  }

  /** Counts the live PUT bytes again (after a compaction rewrote the file). */
  recountFrameBytes(): void {
    this.#liveFrameBytes = [...this.#entries.values()].reduce((n, e) => n + e.frameBytes, 0);
  }
}
