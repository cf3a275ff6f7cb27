/**
 * NMEA 0183 sentence parsing (pure; NMEA 0183 v4.11 §5.2 sentence structure, GGA and RMC field layouts):
 * `$<talker><type>,<fields...>*<hh>` where hh is the XOR of every character between `$` and `*`, in hex.
 * A sentence is at most 82 characters including `$` and CR LF. Positions are `ddmm.mmmm` / `dddmm.mmmm` with a
 * hemisphere letter, returned as signed decimal degrees (south and west negative).
 */

export interface GgaSentence {
  type: 'GGA';
  talker: string;
  /** UTC time of day, ms since midnight. */
  timeOfDayMs?: number;
  latitude?: number;
  longitude?: number;
  /** 0 invalid, 1 GPS, 2 DGPS, 3 PPS, 4 RTK fixed, 5 RTK float, 6 estimated (dead reckoning), 7 manual, 8 simulator. */
  fixQuality: number;
  satellites?: number;
  hdop?: number;
  /** Metres above mean sea level. */
  altitude?: number;
  /** Geoid separation, metres. */
  geoidSeparation?: number;
}

export interface RmcSentence {
  type: 'RMC';
  talker: string;
  timeOfDayMs?: number;
  /** Status A (and, from NMEA 2.3 on, a mode indicator other than N). */
  valid: boolean;
  latitude?: number;
  longitude?: number;
  /** Speed over ground, m/s (converted from knots). */
  speed?: number;
  /** Course over ground, degrees true. */
  course?: number;
  /** UTC date and time as epoch ms, when both are present. */
  timestamp?: number;
  /** Mode indicator (NMEA 2.3+): A autonomous, D differential, E estimated, M manual, S simulator, N not valid. */
  mode?: string;
}

export interface OtherSentence {
  type: 'other';
  talker: string;
  sentence: string;
  fields: string[];
}

export type NmeaSentence = GgaSentence | RmcSentence | OtherSentence;

export type NmeaParseResult =
  | { ok: true; sentence: NmeaSentence }
  | { ok: false; reason: 'checksum' | 'malformed'; detail: string };

/** One knot is 1852 m per hour. */
export const METRES_PER_SECOND_PER_KNOT = 1852 / 3600;

/** XOR of the characters of `body` (the text between `$` and `*`). */
export function nmeaChecksum(body: string): number {
  let sum = 0;
  for (let i = 0; i < body.length; i++) sum ^= body.charCodeAt(i) & 0xff;
  return sum;
}

/** `$body*HH` (for the simulated GPS and tests). */
export function formatNmea(body: string): string {
  return `$${body}*${nmeaChecksum(body).toString(16).toUpperCase().padStart(2, '0')}`;
}

const bad = (reason: 'checksum' | 'malformed', detail: string): NmeaParseResult => ({ ok: false, reason, detail });

/**
 * Parses one line (CR/LF already stripped or not). Anything before the last `$` is ignored (receivers emit
 * noise at power-up that ends up glued to the first sentence). A missing or wrong checksum is a 'checksum' failure.
 */
export function parseNmeaLine(line: string): NmeaParseResult {
  const start = line.lastIndexOf('$');
  if (start < 0) return bad('malformed', 'no "$"');
  const text = line.slice(start).trimEnd();
  const star = text.lastIndexOf('*');
  if (star < 0) return bad('checksum', 'no checksum');
  const body = text.slice(1, star);
  const given = text.slice(star + 1);
  if (!/^[0-9A-Fa-f]{2}$/.test(given)) return bad('checksum', `checksum field "${given}"`);
  const expected = nmeaChecksum(body);
  if (parseInt(given, 16) !== expected) return bad('checksum', `checksum ${given}, computed ${expected.toString(16).toUpperCase().padStart(2, '0')}`);

  const [address = '', ...fields] = body.split(',');
  if (!/^[A-Z][A-Z0-9]{2,}$/.test(address)) return bad('malformed', `address field "${address}"`);
  // Proprietary sentences ($P...) have no talker; standard ones are a 2-letter talker + 3-letter type.
  const proprietary = address.startsWith('P');
  const talker = proprietary ? 'P' : address.slice(0, 2);
  const type = proprietary ? address : address.slice(2);
  try {
    if (type === 'GGA') return { ok: true, sentence: parseGga(talker, fields) };
    if (type === 'RMC') return { ok: true, sentence: parseRmc(talker, fields) };
  } catch (err) {
    return bad('malformed', `${type}: ${(err as Error).message}`);
  }
  return { ok: true, sentence: { type: 'other', talker, sentence: type, fields } };
}

function parseGga(talker: string, f: string[]): GgaSentence {
  if (f.length < 14) throw new Error(`${f.length} fields, expected 14`);
  const fixQuality = optionalNumber(f[5], 'fix quality') ?? 0;
  const sentence: GgaSentence = { type: 'GGA', talker, fixQuality };
  assign(sentence, 'timeOfDayMs', parseTimeOfDay(f[0]));
  assign(sentence, 'latitude', parseCoordinate(f[1], f[2], 'lat'));
  assign(sentence, 'longitude', parseCoordinate(f[3], f[4], 'lon'));
  assign(sentence, 'satellites', optionalNumber(f[6], 'satellites'));
  assign(sentence, 'hdop', optionalNumber(f[7], 'HDOP'));
  assign(sentence, 'altitude', optionalNumber(f[8], 'altitude'));
  assign(sentence, 'geoidSeparation', optionalNumber(f[10], 'geoid separation'));
  return sentence;
}

function parseRmc(talker: string, f: string[]): RmcSentence {
  if (f.length < 11) throw new Error(`${f.length} fields, expected at least 11`);
  const mode = f[11] === undefined || f[11] === '' ? undefined : f[11];
  const sentence: RmcSentence = { type: 'RMC', talker, valid: f[1] === 'A' && mode !== 'N' };
  const timeOfDayMs = parseTimeOfDay(f[0]);
  assign(sentence, 'timeOfDayMs', timeOfDayMs);
  assign(sentence, 'latitude', parseCoordinate(f[2], f[3], 'lat'));
  assign(sentence, 'longitude', parseCoordinate(f[4], f[5], 'lon'));
  const knots = optionalNumber(f[6], 'speed');
  if (knots !== undefined) sentence.speed = knots * METRES_PER_SECOND_PER_KNOT;
  assign(sentence, 'course', optionalNumber(f[7], 'course'));
  const dayMs = parseDate(f[8]);
  if (dayMs !== undefined && timeOfDayMs !== undefined) sentence.timestamp = dayMs + timeOfDayMs;
  assign(sentence, 'mode', mode);
  return sentence;
}

function assign<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

function optionalNumber(field: string | undefined, what: string): number | undefined {
  if (field === undefined || field === '') return undefined;
  if (!/^[-+]?\d+(\.\d*)?$/.test(field)) throw new Error(`${what} "${field}" is not a number`);
  return Number(field);
}

/** `ddmm.mmmm` (lat) or `dddmm.mmmm` (lon) + N/S/E/W -> signed decimal degrees; undefined if empty. */
export function parseCoordinate(value: string | undefined, hemisphere: string | undefined, axis: 'lat' | 'lon'): number | undefined {
  if (value === undefined || value === '') return undefined;
  const degreeDigits = axis === 'lat' ? 2 : 3;
  const match = new RegExp(`^(\\d{${degreeDigits}})(\\d{2}(?:\\.\\d+)?)$`).exec(value);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`${axis} "${value}" is not ${axis === 'lat' ? 'ddmm.mmmm' : 'dddmm.mmmm'}`);
  const degrees = Number(match[1]);
  const minutes = Number(match[2]);
  if (minutes >= 60 || degrees > (axis === 'lat' ? 90 : 180)) throw new Error(`${axis} "${value}" out of range`);
  const positive = axis === 'lat' ? 'N' : 'E';
  const negative = axis === 'lat' ? 'S' : 'W';
  if (hemisphere !== positive && hemisphere !== negative) throw new Error(`hemisphere "${hemisphere ?? ''}" for ${axis}`);
  const decimal = degrees + minutes / 60;
  return hemisphere === negative ? -decimal : decimal;
}

/** `hhmmss` or `hhmmss.sss` -> ms since UTC midnight. */
export function parseTimeOfDay(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^(\d{2})(\d{2})(\d{2}(?:\.\d+)?)$/.exec(value);
  if (match === null) throw new Error(`time "${value}" is not hhmmss.ss`);
  const [h, m, s] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (h > 23 || m > 59 || s >= 61) throw new Error(`time "${value}" out of range`); // 60: a leap second
  return Math.round(((h * 60 + m) * 60 + s) * 1000);
}

/** `ddmmyy` -> epoch ms of that UTC midnight. Two-digit years 80-99 are 19xx, 00-79 are 20xx. */
export function parseDate(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const match = /^(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (match === null) throw new Error(`date "${value}" is not ddmmyy`);
  const [day, month, yy] = [Number(match[1]), Number(match[2]), Number(match[3])];
  if (day < 1 || day > 31 || month < 1 || month > 12) throw new Error(`date "${value}" out of range`);
  return Date.UTC(yy >= 80 ? 1900 + yy : 2000 + yy, month - 1, day);
}
