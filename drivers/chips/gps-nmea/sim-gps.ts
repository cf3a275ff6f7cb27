/**
 * A simulated GPS receiver on a sim serial path: once per second of world time it writes a GGA and an RMC
 * sentence (CR LF terminated, correct checksums) for a stationary receiver whose position wanders a few metres
 * the way a real fix does, and whose satellite count changes now and then. Test controls: setFix, setPosition,
 * inject (raw text, e.g. a sentence with a bad checksum).
 */
import type { Duplex } from 'node:stream';
import type { Clock } from '../../../runtime/clock.ts';
import type { ISimWorld } from '../../sim-world.ts';
import { METRES_PER_SECOND_PER_KNOT, formatNmea } from './nmea-parser.ts';

export interface SimGpsPosition {
  latitude: number;
  longitude: number;
  /** Metres above mean sea level. */
  altitude: number;
}

export interface SimGpsOptions {
  path: string;
  random?: () => number;
  /** Default: the NMEA reference example's position (48°07.038' N, 11°31.000' E, 545.4 m). */
  position?: SimGpsPosition;
  /** Seconds of world time before the first fix (a warm start). Default 0. */
  acquireSeconds?: number;
}

const METRES_PER_DEGREE_LAT = 111_320;

function pad(n: number, width: number, decimals = 0): string {
  return n.toFixed(decimals).padStart(width + (decimals > 0 ? decimals + 1 : 0), '0');
}

/** Signed decimal degrees -> `ddmm.mmmmm` / `dddmm.mmmmm` and the hemisphere letter. */
export function formatCoordinate(decimal: number, axis: 'lat' | 'lon'): [string, string] {
  const hemisphere = axis === 'lat' ? (decimal < 0 ? 'S' : 'N') : decimal < 0 ? 'W' : 'E';
  const abs = Math.abs(decimal);
  let degrees = Math.floor(abs);
  let minutes = Number(((abs - degrees) * 60).toFixed(5));
  if (minutes >= 60) {
    degrees += 1;
    minutes -= 60;
  }
  return [`${pad(degrees, axis === 'lat' ? 2 : 3)}${pad(minutes, 2, 5)}`, hemisphere];
}

export class SimGps {
  readonly #clock: Clock;
  readonly #random: () => number;
  #origin: SimGpsPosition;
  #fix: boolean;
  #acquireAt: number;
  #port: Duplex | undefined;
  #satellites = 9;
  #wander = { north: 0, east: 0 };
  /** Sentences written so far (inspection). */
  written = 0;

  constructor(world: ISimWorld, options: SimGpsOptions) {
    this.#clock = world.clock;
    this.#random = options.random ?? Math.random;
    this.#origin = options.position ?? { latitude: 48.1173, longitude: 11.516666666666667, altitude: 545.4 };
    this.#acquireAt = world.clock.now() + (options.acquireSeconds ?? 0) * 1000;
    this.#fix = true;
    world.serial.attach(options.path, (port) => this.#connect(port));
    world.every(1000, () => this.#emit());
  }

  /** Test control: lose or regain the fix (no fix: empty position fields, GGA quality 0, RMC status V). */
  setFix(fix: boolean): void {
    this.#fix = fix;
    this.#acquireAt = -Infinity;
  }

  /** Test control: move the receiver (the wander continues around the new position). */
  setPosition(position: SimGpsPosition): void {
    this.#origin = { ...position };
    this.#wander = { north: 0, east: 0 };
  }

  /** Test control: write raw text to the port as the receiver would (include CR LF yourself). */
  inject(text: string): void {
    this.#write(text);
  }

  #connect(port: Duplex): void {
    this.#port = port;
    port.resume(); // commands from the host (PMTK/UBX configuration) are accepted and ignored
    port.on('end', () => {
      if (this.#port === port) this.#port = undefined;
    });
    port.on('error', () => undefined);
  }

  #emit(): void {
    const now = this.#clock.now();
    const fix = this.#fix && now >= this.#acquireAt;
    // A fix's noise: a bounded random walk of a few metres, pulled back towards the true position.
    const step = (): number => (this.#random() - 0.5) * 0.8;
    const north = this.#wander.north * 0.95 + step();
    const east = this.#wander.east * 0.95 + step();
    const speed = Math.hypot(north - this.#wander.north, east - this.#wander.east); // m/s over the last second
    this.#wander = { north, east };
    if (this.#random() < 0.05) this.#satellites = Math.min(12, Math.max(6, this.#satellites + (this.#random() < 0.5 ? -1 : 1)));

    const latitude = this.#origin.latitude + north / METRES_PER_DEGREE_LAT;
    const longitude = this.#origin.longitude + east / (METRES_PER_DEGREE_LAT * Math.cos((this.#origin.latitude * Math.PI) / 180));
    const date = new Date(now);
    const time = `${pad(date.getUTCHours(), 2)}${pad(date.getUTCMinutes(), 2)}${pad(date.getUTCSeconds(), 2)}.${pad(Math.floor(date.getUTCMilliseconds() / 10), 2)}`;
    const day = `${pad(date.getUTCDate(), 2)}${pad(date.getUTCMonth() + 1, 2)}${pad(date.getUTCFullYear() % 100, 2)}`;
    const [lat, ns] = formatCoordinate(latitude, 'lat');
    const [lon, ew] = formatCoordinate(longitude, 'lon');
    const altitude = (this.#origin.altitude + north * 0.3).toFixed(1);
    const gga = fix
      ? `GPGGA,${time},${lat},${ns},${lon},${ew},1,${pad(this.#satellites, 2)},0.9,${altitude},M,46.9,M,,`
      : `GPGGA,${time},,,,,0,${pad(Math.min(this.#satellites, 3), 2)},99.99,,,,,,`;
    const knots = (speed / METRES_PER_SECOND_PER_KNOT).toFixed(3);
    const rmc = fix
      ? `GPRMC,${time},A,${lat},${ns},${lon},${ew},${knots},,${day},,,A`
      : `GPRMC,${time},V,,,,,,,${day},,,N`;
    this.#write(`${formatNmea(gga)}\r\n${formatNmea(rmc)}\r\n`);
    this.written += 2;
  }

  #write(text: string): void {
    const port = this.#port;
    // Nobody reading: a UART keeps transmitting and the bytes are lost, rather than queueing without bound.
    if (port === undefined || port.destroyed || port.writableEnded || port.writableNeedDrain) return;
    port.write(text);
  }
}
