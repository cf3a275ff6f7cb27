/**
 * Which discovery config topics this board published, kept in a small durable file in the state directory
 * (runtime/durable-file.ts), so that an entity whose device left the config is removed from Home Assistant with an
 * empty retained config at the next boot (Home Assistant's "MQTT" page, "MQTT Discovery": an empty payload deletes a
 * discovered entity). Grouped by owner (a HAL device id, or `_board`): a device that is still configured but failed
 * to start keeps its entities, so one dead sensor at boot does not wipe its history in Home Assistant.
 */
import { DurableTextFile } from '../durable-file.ts';
import type { DurableFs } from '../durable-file.ts';
import { isRecord } from '../validation.ts';

/** owner -> config topics */
export type PublishedTopics = Record<string, string[]>;

/** At most this many topics are remembered (a board has tens): a bound on what a corrupt or foreign file can make us publish. */
const MAX_TOPICS = 4096;

export class PublishedConfigs {
  readonly #file: DurableTextFile;

  constructor(file: string, options: { fs?: DurableFs } = {}) {
    this.#file = new DurableTextFile(file, options);
  }

  get file(): string {
    return this.#file.file;
  }

  /** The record of the previous run; `{}` when there is none. A file that does not parse is reported in `problem`, not thrown. */
  async read(): Promise<{ topics: PublishedTopics; problem?: string }> {
    const text = await this.#file.read();
    if (text === null) return { topics: {} };
    try {
      const value: unknown = JSON.parse(text);
      const topics = isRecord(value) && isRecord(value.topics) ? value.topics : undefined;
      if (!topics) return { topics: {}, problem: `${this.file}: not a {"topics": {...}} object` };
      const out: PublishedTopics = {};
      let count = 0;
      for (const [owner, list] of Object.entries(topics)) {
        if (!Array.isArray(list)) continue;
        out[owner] = list.filter((t): t is string => typeof t === 'string' && t.length > 0 && t.length <= 1024).slice(0, MAX_TOPICS - count);
        count += out[owner].length;
      }
      this.#file.markCurrentValid(true);
      return { topics: out };
    } catch (err) {
      return { topics: {}, problem: `${this.file}: ${(err as Error).message}` };
    }
  }

  write(topics: PublishedTopics): Promise<void> {
    return this.#file.write(`${JSON.stringify({ topics }, null, 1)}\n`);
  }
}

/**
 * The topics to clear (published before, not now) and the record to keep: what is published now, plus the previous
 * topics of `kept` owners (devices still configured whose entities were not built this time).
 */
export function reconcile(previous: PublishedTopics, current: PublishedTopics, kept: ReadonlySet<string>): { stale: string[]; record: PublishedTopics } {
  const record: PublishedTopics = { ...current };
  const now = new Set(Object.values(current).flat());
  const stale: string[] = [];
  for (const [owner, topics] of Object.entries(previous)) {
    if (kept.has(owner) && current[owner] === undefined) {
      record[owner] = topics;
      continue;
    }
    for (const t of topics) if (!now.has(t)) stale.push(t);
  }
  return { stale, record };
}
