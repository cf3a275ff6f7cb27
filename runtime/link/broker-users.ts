/**
 * Local users of the embedded broker (`mqtt.embeddedBroker.usersFile`): when the file is configured, a local client
 * must connect with one of its usernames and that user's password; without it, local clients connect anonymously.
 *
 * Format (README "MQTT, remote triggers and rules"): one `username:password` per line; the password is the rest of
 * the line after the first `:` (it may hold `:`); blank lines and lines starting with `#` are skipped. The file
 * holds plain passwords, so keep it readable by the daemon's user only (mode 0600). Passwords are kept only as
 * SHA-256 digests in memory, compared in constant time, and never logged; errors name the line, never its text.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { OpenStarryError } from '../errors.ts';
import { LinkErrorCode } from './errors.ts';

export class BrokerUsers {
  readonly #digests: ReadonlyMap<string, Buffer>;

  private constructor(digests: ReadonlyMap<string, Buffer>) {
    this.#digests = digests;
  }

  /** `reserved`: usernames the file may not define (the daemon's own). `file` only names the source in errors. */
  static parse(text: string, file: string, reserved: readonly string[] = []): BrokerUsers {
    const digests = new Map<string, Buffer>();
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
      if (digests.has(user)) throw new OpenStarryError(LinkErrorCode.CONFIG, `${at}: ${JSON.stringify(user)} is defined twice`);
      digests.set(user, digest(password));
    });
    return new BrokerUsers(digests);
  }

  get size(): number {
    return this.#digests.size;
  }

  verify(username: string | undefined, password: Buffer | undefined): boolean {
    const expected = username === undefined ? undefined : this.#digests.get(username);
    // Hash even for an unknown user, so the time taken does not tell which usernames exist.
    const given = digest(password ?? Buffer.alloc(0));
    return expected !== undefined && timingSafeEqual(expected, given);
  }
}

export function digest(secret: string | Buffer): Buffer {
  return createHash('sha256').update(secret).digest();
}
