/**
 * The safety envelope of one actuator (docs/ARCHITECTURE.md "HAL and devices"): the command must be one the driver declares (or inside its value
 * range), and commands may not arrive faster than the rate limit — a token bucket, so a short burst is fine but a
 * runaway agent cannot chatter a relay (contacts and the compressor behind them wear out). Checked in the daemon
 * before the driver is called; a violation never reaches the hardware.
 */
import type { Clock } from '../runtime/clock.ts';
import { OpenStarryError } from '../runtime/core/errors.ts';
import { TokenBucket } from '../runtime/core/token-bucket.ts';
import type { ActuatorCommand, ActuatorEnvelope } from '../drivers/device.ts';
import { HalErrorCode } from './errors.ts';

export interface RateLimit {
  /** Sustained commands per second. */
  perSecond: number;
  /** Commands allowed back to back before the rate applies. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { perSecond: 5, burst: 5 };

export class ActuatorGuard {
  readonly #deviceId: string;
  readonly #envelope: ActuatorEnvelope;
  readonly #limit: RateLimit;
  readonly #bucket: TokenBucket;
  #limited = 0;

  constructor(deviceId: string, envelope: ActuatorEnvelope, limit: RateLimit, clock: Clock) {
    this.#deviceId = deviceId;
    this.#envelope = envelope;
    this.#limit = limit;
    this.#bucket = new TokenBucket(limit.perSecond, limit.burst, clock);
  }

  /** How many commands were refused by the rate limit so far. */
  get rateLimited(): number {
    return this.#limited;
  }

  /** Validates the command against the envelope, then takes a rate token. Throws instead of letting it through. */
  admit(command: ActuatorCommand): ActuatorCommand {
    const { commands, range } = this.#envelope;
    if (commands) {
      if (typeof command !== 'string' || !commands.includes(command)) {
        throw new OpenStarryError(HalErrorCode.ENVELOPE_VIOLATION, `${this.#deviceId}: command ${JSON.stringify(command)} is not one of ${commands.join(', ')}`);
      }
    } else if (range) {
      if (typeof command !== 'number' || !Number.isFinite(command) || command < range.min || command > range.max) {
        throw new OpenStarryError(HalErrorCode.ENVELOPE_VIOLATION, `${this.#deviceId}: value ${JSON.stringify(command)} is outside ${range.min}..${range.max}`);
      }
    }
    if (!this.#bucket.take()) {
      this.#limited += 1;
      throw new OpenStarryError(HalErrorCode.RATE_LIMITED, `${this.#deviceId}: more than ${this.#limit.perSecond} commands per second (burst ${this.#limit.burst})`);
    }
    return command;
  }
}
