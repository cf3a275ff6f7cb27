/**
 * Local users of the embedded broker (`mqtt.embeddedBroker.usersFile`): when the file is configured, a local client
 * must connect with one of its usernames and that user's password; without it, local clients connect anonymously.
 *
 * Format (README "MQTT, remote triggers and rules"): one `username:password` per line; the password is the rest of
 * the line after the first `:` (it may hold `:`); blank lines and lines starting with `#` are skipped. The password
 * is either a plain one or a hash as mosquitto_passwd(1) writes it, so a mosquitto password file serves as is:
 *   `$7$<iterations>$<salt>$<hash>`  PBKDF2-HMAC-SHA512 of the password, 64 bytes (mosquitto 2.0's default, 101
 *                                    iterations), salt and hash in base64;
 *   `$6$<salt>$<hash>`               SHA-512 of the password followed by the salt (mosquitto 1.x's format).
 * Plain passwords are kept only as SHA-256 digests in memory; every comparison is constant-time; nothing from the
 * file is logged, and errors name the line, never its text.
 *
 * Verification runs on the daemon's event loop at each CONNECT (broker-policy.ts), so the iteration count is capped
 * (MAX_ITERATIONS), and a CONNECT naming an unknown user costs what the file's dearest entry costs, so the time taken
 * does not tell which usernames exist.
 */
import { createHash, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';
import { OpenStarryError } from '../errors.ts';
import { LinkErrorCode } from './errors.ts';

/** PBKDF2 rounds one entry may ask for: 10,000 SHA-512 rounds take ~10 ms of a Raspberry Pi 4's core per CONNECT. */
export const MAX_ITERATIONS = 10_000;
const HASH_BYTES = 64; // SHA-512

type Check =
  | { kind: 'plain'; digest: Buffer }
  | { kind: 'sha512'; salt: Buffer; hash: Buffer }
  | { kind: 'pbkdf2'; iterations: number; salt: Buffer; hash: Buffer };

export class BrokerUsers {
  readonly #checks: ReadonlyMap<string, Check>;
  /** Run for an unknown username: the same work as the dearest entry, against a hash nothing matches. */
  readonly #decoy: Check;

  private constructor(checks: ReadonlyMap<string, Check>) {
    this.#checks = checks;
    this.#decoy = decoyFor([...checks.values()]);
  }

  /** `reserved`: usernames the file may not define (the daemon's own). `file` only names the source in errors. */
  static parse(text: string, file: string, reserved: readonly string[] = []): BrokerUsers {
    const checks = new Map<string, Check>();
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const at = `mqtt.embeddedBroker.usersFile: ${file} line ${index + 1}`;
      const colon = line.indexOf(':');
      if (colon <= 0) throw new OpenStarryError(LinkErrorCode.CONFIG, `${at}: must be username:password`);
      const user = line.slice(0, colon);
      const password = line.slice(colon + 1);
      if (password === '') throw new OpenStarryError(LinkErrorCode.CONFIG, `${at}: the password is empty`);
      if (reserved.includes(user)) throw new OpenStarryError(LinkErrorCode.CONFIG, `${at}: the username ${JSON.stringify(user)} is reserved for the daemon`);
      if (checks.has(user)) throw new OpenStarryError(LinkErrorCode.CONFIG, `${at}: ${JSON.stringify(user)} is defined twice`);
      const check = parsePassword(password);
      if (typeof check === 'string') throw new OpenStarryError(LinkErrorCode.CONFIG, `${at}: ${check}`);
      checks.set(user, check);
    });
    return new BrokerUsers(checks);
  }

  get size(): number {
    return this.#checks.size;
  }

  verify(username: string | undefined, password: Buffer | undefined): boolean {
    const check = username === undefined ? undefined : this.#checks.get(username);
    const given = password ?? Buffer.alloc(0);
    if (check === undefined) {
      matches(this.#decoy, given);
      return false;
    }
    return matches(check, given);
  }
}

export function digest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}

/** The check for one password field, or why a field that starts like a mosquitto_passwd hash is not one. */
function parsePassword(field: string): Check | string {
  const scheme = field.startsWith('$6$') ? '$6$' : field.startsWith('$7$') ? '$7$' : undefined;
  if (scheme === undefined) return { kind: 'plain', digest: digest(field) };
  // '', '6' | '7', [iterations,] salt, hash
  const parts = field.split('$');
  const shape = scheme === '$6$' ? '$6$<salt>$<hash>' : '$7$<iterations>$<salt>$<hash>';
  if (parts.length !== (scheme === '$6$' ? 4 : 5)) return `a ${scheme} hash is ${shape} (mosquitto_passwd); a plain password may not start with ${scheme}`;
  const iterations = scheme === '$7$' && /^[1-9][0-9]{0,9}$/.test(parts[2] as string) ? Number(parts[2]) : NaN;
  if (scheme === '$7$' && !(iterations <= MAX_ITERATIONS)) return `the $7$ hash's iteration count must be a whole number from 1 to ${MAX_ITERATIONS} (each CONNECT computes it on the daemon's event loop)`;
  const salt = base64(parts.at(-2) as string);
  const hash = base64(parts.at(-1) as string);
  if (!salt || !hash || hash.length !== HASH_BYTES) return `the ${scheme} hash has no valid base64 salt, or its hash is not 64 bytes of base64`;
  return scheme === '$6$' ? { kind: 'sha512', salt, hash } : { kind: 'pbkdf2', iterations, salt, hash };
}

/** Strict base64 (Buffer.from accepts anything); undefined when not base64 or empty. */
function base64(text: string): Buffer | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.length > 0 ? bytes : undefined;
}

function matches(check: Check, given: Buffer): boolean {
  switch (check.kind) {
    case 'plain':
      return timingSafeEqual(digest(given), check.digest);
    case 'sha512':
      return timingSafeEqual(createHash('sha512').update(given).update(check.salt).digest(), check.hash);
    case 'pbkdf2':
      return timingSafeEqual(pbkdf2Sync(given, check.salt, check.iterations, HASH_BYTES, 'sha512'), check.hash);
  }
}

/** The dearest kind of check in the file (most PBKDF2 rounds, else SHA-512, else plain), with a random hash. */
function decoyFor(checks: readonly Check[]): Check {
  const salt = randomBytes(12);
  const hash = randomBytes(HASH_BYTES);
  const rounds = Math.max(0, ...checks.map((c) => (c.kind === 'pbkdf2' ? c.iterations : 0)));
  if (rounds > 0) return { kind: 'pbkdf2', iterations: rounds, salt, hash };
  if (checks.some((c) => c.kind === 'sha512')) return { kind: 'sha512', salt, hash };
  return { kind: 'plain', digest: randomBytes(32) };
}
