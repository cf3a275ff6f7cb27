/**
 * Keeps the last N log lines of every agent instance in memory, for `openstarry logs <pid|agent-id> [-f]`.
 * Lines also go to the daemon's log (journald persists them), so nothing here is written to the SD card.
 * Bounded: N lines per pid, and the books of at most `maxBooks` ended instances.
 */
import type { LogLine } from './log-line.ts';

export class AgentLogBook {
  readonly #linesPerAgent: number;
  readonly #maxBooks: number;
  readonly #books = new Map<string, { agentId: string; lines: LogLine[] }>();
  readonly #followers = new Map<string, Set<(line: LogLine) => void>>();

  constructor(linesPerAgent = 1000, maxBooks = 200) {
    this.#linesPerAgent = linesPerAgent;
    this.#maxBooks = maxBooks;
  }

  append(line: LogLine): void {
    let book = this.#books.get(line.pid);
    if (!book) {
      book = { agentId: line.agentId, lines: [] };
      this.#books.set(line.pid, book);
      this.#trimBooks();
    }
    book.lines.push(line);
    if (book.lines.length > this.#linesPerAgent) book.lines.splice(0, book.lines.length - this.#linesPerAgent);
    for (const key of [line.pid, line.agentId]) {
      for (const f of this.#followers.get(key) ?? []) f(line);
    }
  }

  /** `target` is a pid, or an agent id (then the lines of every instance of that agent, oldest first). */
  read(target: string, lines: number): LogLine[] {
    const direct = this.#books.get(target);
    const all = direct ? direct.lines : [...this.#books.values()].filter((b) => b.agentId === target).flatMap((b) => b.lines);
    return all.slice(Math.max(0, all.length - lines));
  }

  knows(target: string): boolean {
    return this.#books.has(target) || [...this.#books.values()].some((b) => b.agentId === target);
  }

  follow(target: string, listener: (line: LogLine) => void): () => void {
    let set = this.#followers.get(target);
    if (!set) {
      set = new Set();
      this.#followers.set(target, set);
    }
    set.add(listener);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.#followers.delete(target);
    };
  }

  #trimBooks(): void {
    // Map iteration is insertion order, so the oldest instances go first.
    while (this.#books.size > this.#maxBooks) {
      const oldest = this.#books.keys().next().value;
      if (oldest === undefined) return;
      this.#books.delete(oldest);
    }
  }
}
