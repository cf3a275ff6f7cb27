/**
 * Entity states on their way to the link (README "Home Assistant"): published on change, and a value that keeps changing
 * (a sensor's reading) at most once per `homeassistant.interval`; the latest one waiting is sent by the next flush().
 * Discrete states (a relay switched, an input's edge) go at once: the HAL's rate limits and the input's debounce
 * already bound them. The table is bounded by the entities the board announced (one slot per state topic).
 */
import type { Clock } from '../clock.ts';

interface Slot {
  /** What was last handed to the link. */
  sent?: string;
  sentAt: number;
  /** A newer payload waiting for the interval to pass. */
  pending?: string;
}

export class StateThrottle {
  readonly #slots = new Map<string, Slot>();
  readonly #clock: Clock;
  readonly #intervalMs: number;
  readonly #send: (topic: string, payload: string) => boolean;

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
    if (slot.sent === undefined || this.#clock.now() - slot.sentAt >= this.#intervalMs) this.#emit(topic, slot, payload);
    else slot.pending = payload;
  }

  /** A discrete state: sent now if it changed. */
  changed(topic: string, payload: string): void {
    const slot = this.#slot(topic);
    if (slot.sent === payload) return;
    this.#emit(topic, slot, payload);
  }

  /** Sends every pending payload (called each interval). */
  flush(): void {
    for (const [topic, slot] of this.#slots) {
      if (slot.pending !== undefined && slot.pending !== slot.sent) this.#emit(topic, slot, slot.pending);
    }
  }

  /** Forget what was sent, so the next value of every topic goes out (Home Assistant came back and asked again). */
  resendAll(): void {
    for (const slot of this.#slots.values()) {
      if (slot.sent !== undefined && slot.pending === undefined) slot.pending = slot.sent;
      delete slot.sent;
    }
    this.flush();
  }

  #slot(topic: string): Slot {
    let slot = this.#slots.get(topic);
    if (!slot) this.#slots.set(topic, (slot = { sentAt: 0 }));
    return slot;
  }

  #emit(topic: string, slot: Slot, payload: string): void {
    if (this.#send(topic, payload)) {
      slot.sent = payload;
      slot.sentAt = this.#clock.now();
      delete slot.pending;
    } else {
      slot.pending = payload;
    }
  }
}
