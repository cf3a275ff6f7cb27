/**
 * Entity states on their way to the link (README "Home Assistant"): published on change, and a value that keeps changing
 * (a sensor's reading) at most once per `homeassistant.interval`: a change within the interval waits, and the latest
 * one waiting goes when the interval since the topic's last send is over (one timer per waiting topic, none while
 * idle). Discrete states (a relay switched, an input's edge) go at once: the HAL's rate limits and the input's
 * debounce already bound them. A send the link refused is kept and tried again by flush(). The table is bounded by
 * the entities the board announced (one slot per state topic).
 */
import type { Clock } from '../clock.ts';

interface Slot {
  /** What was last handed to the link. */
  sent?: string;
  sentAt: number;
  /** A newer payload waiting for the interval to pass. */
  pending?: string;
  /** Sends `pending` once the interval since `sentAt` is over. */
  timer?: unknown;
}

export class StateThrottle {
  readonly #slots = new Map<string, Slot>();
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #send: (topic: string, payload: string) => boolean;
  #closed = false;

  /** `send` returns false when the link did not take the message (it is kept and tried again at the next flush). */
  constructor(options: { clock: Clock; intervalMs: number; send: (topic: string, payload: string) => boolean }) {
    this.#clock = options.clock;
    this.#intervalMs = options.intervalMs;
    this.#send = options.send;
  }

  /** A measured value: sent now if it changed and the topic's last send is an interval old, else kept for flush(). */
  measured(topic: string, payload: string): void {
    const slot = this.#slot(topic);
    if (slot.sent === payload) {
      delete slot.pending;
      return;
    }
    const wait = slot.sent === undefined ? 0 : slot.sentAt + this.#intervalMs - this.#clock.now();
    if (wait <= 0) {
      this.#emit(topic, slot, payload);
      return;
    }
    slot.pending = payload;
    slot.timer ??= this.#clock.setTimeout(() => {
      delete slot.timer;
      if (!this.#closed && slot.pending !== undefined && slot.pending !== slot.sent) this.#emit(topic, slot, slot.pending);
    }, wait);
  }

  /** A discrete state: sent now if it changed. */
  changed(topic: string, payload: string): void {
    const slot = this.#slot(topic);
    if (slot.sent === payload) return;
    this.#emit(topic, slot, payload);
  }

  /** Sends what waits without a timer: payloads the link refused (called each interval). */
  flush(): void {
    for (const [topic, slot] of this.#slots) {
      if (slot.timer === undefined && slot.pending !== undefined && slot.pending !== slot.sent) this.#emit(topic, slot, slot.pending);
    }
  }

  /** Stops the timers; nothing is sent afterwards. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const slot of this.#slots.values()) {
      this.#clock.clearTimeout(slot.timer);
      delete slot.timer;
    }
  }

  /** Sends every topic's latest state again (Home Assistant came back and the broker may have lost them). */
  resendAll(): void {
    for (const [topic, slot] of this.#slots) {
      const latest = slot.pending ?? slot.sent;
      if (latest === undefined) continue;
      this.#clock.clearTimeout(slot.timer);
      delete slot.timer;
      this.#emit(topic, slot, latest);
    }
  }

  #slot(topic: string): Slot {
    let slot = this.#slots.get(topic);
    if (!slot) this.#slots.set(topic, (slot = { sentAt: 0 }));
    return slot;
  }

  #emit(topic: string, slot: Slot, payload: string): void {
    if (this.#closed) return;
    if (this.#send(topic, payload)) {
      slot.sent = payload;
      slot.sentAt = this.#clock.now();
      delete slot.pending;
    } else {
      slot.pending = payload;
    }
  }
}
