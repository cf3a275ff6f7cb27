/**
 * What the receiver last told us, and what a read may answer from it. Position quantities (latitude, longitude,
 * altitude, speed) are answered only while the receiver reports a valid fix and the value is fresh (younger than
 * `staleAfterMs`): an agent must never act on a position from before the antenna lost the sky or the cable came
 * loose. `fix` (0/1) and `satellites` are answered as long as sentences arrive at all, so an agent can watch a
 * fix being acquired. Otherwise reads reject with ERR_DRIVER_TIMEOUT ("no fix yet" / "no NMEA data"): a GPS
 * read that cannot complete now, rather than a failing device.
 */
import { DriverError, DriverErrorCode } from '../../errors.ts';
import type { NmeaSentence } from './nmea-parser.ts';

export const GPS_QUANTITIES = ['latitude', 'longitude', 'altitude', 'speed', 'satellites', 'fix'] as const;
export type GpsQuantity = (typeof GPS_QUANTITIES)[number];

const POSITION_QUANTITIES: ReadonlySet<GpsQuantity> = new Set(['latitude', 'longitude', 'altitude', 'speed']);

interface Timed {
  value: number;
  at: number;
}

export class GpsState {
  readonly #staleAfterMs: number;
  readonly #values = new Map<GpsQuantity, Timed>();
  /** From the latest GGA or RMC, whichever came last. */
  #fix: Timed | undefined;
  /** UTC time the receiver reported in its last RMC with a date (epoch ms). */
  timestamp: number | undefined;

  constructor(staleAfterMs: number) {
    this.#staleAfterMs = staleAfterMs;
  }

  /** Takes one parsed sentence received at `now` (the driver's clock). */
  apply(sentence: NmeaSentence, now: number): void {
    const set = (q: GpsQuantity, value: number | undefined): void => {
      if (value !== undefined && Number.isFinite(value)) this.#values.set(q, { value, at: now });
    };
    if (sentence.type === 'GGA') {
      const valid = sentence.fixQuality > 0;
      this.#fix = { value: valid ? 1 : 0, at: now };
      set('satellites', sentence.satellites);
      if (!valid) return;
      set('latitude', sentence.latitude);
      set('longitude', sentence.longitude);
      set('altitude', sentence.altitude);
    } else if (sentence.type === 'RMC') {
      this.#fix = { value: sentence.valid ? 1 : 0, at: now };
      if (!sentence.valid) return;
      set('latitude', sentence.latitude);
      set('longitude', sentence.longitude);
      set('speed', sentence.speed);
      if (sentence.timestamp !== undefined) this.timestamp = sentence.timestamp;
    }
  }

  /** The answer to read(quantity) at `now`, or the DriverError it rejects with. */
  value(quantity: GpsQuantity, now: number): number | DriverError {
    const fresh = (t: Timed | undefined): t is Timed => t !== undefined && now - t.at <= this.#staleAfterMs;
    if (!fresh(this.#fix)) {
      return new DriverError(DriverErrorCode.TIMEOUT, this.#fix === undefined ? 'no fix yet: no NMEA data received' : `no NMEA data for over ${this.#staleAfterMs} ms`);
    }
    if (quantity === 'fix') return this.#fix.value;
    if (POSITION_QUANTITIES.has(quantity) && this.#fix.value === 0) return new DriverError(DriverErrorCode.TIMEOUT, 'no fix yet');
    const entry = this.#values.get(quantity);
    if (!fresh(entry)) return new DriverError(DriverErrorCode.TIMEOUT, `no fix yet: no recent ${quantity}`);
    return entry.value;
  }

  /** Every quantity answerable now (the device's status value). */
  snapshot(now: number): Partial<Record<GpsQuantity, number>> {
    const out: Partial<Record<GpsQuantity, number>> = {};
    for (const q of GPS_QUANTITIES) {
      const v = this.value(q, now);
      if (typeof v === 'number') out[q] = v;
    }
    return out;
  }
}
