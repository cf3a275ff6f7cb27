/**
 * The dashboard's bearer token (README "Dashboard"; issue 15): mutations (spawn, kill, switch an actuator) need
 * `Authorization: Bearer <token>`, the token read from `dashboard.tokenFile` (the .deb writes one at install,
 * /etc/openstarry/dashboard-token, readable by group openstarry). No cookie is ever set, so a page on another
 * origin cannot ride on a browser's session (no CSRF). Without a token the page is read-only, which is only allowed
 * on a loopback address: reads expose agent snapshots, so a dashboard reachable from the network must be locked.
 */
import { readFile } from 'node:fs/promises';
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';

/** Shortest token accepted: the .deb's is 32 random bytes (43 base64url characters). */
export const MIN_TOKEN_CHARS = 16;

/** 127.0.0.0/8, ::1, ::ffff:127.x and `localhost`: reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/**
 * The token in `file` (surrounding whitespace trimmed), or undefined without a file.
 * @throws Error naming the file and why (unreadable, empty, too short, not one line of printable ASCII).
 */
export async function loadToken(file: string | undefined, read: (f: string) => Promise<string> = (f) => readFile(f, 'utf8')): Promise<string | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await read(file);
  } catch (err) {
    throw new Error(`dashboard.tokenFile ${file}: cannot be read: ${(err as Error).message}`, { cause: err });
  }
  const token = text.trim();
  if (token.length < MIN_TOKEN_CHARS) throw new Error(`dashboard.tokenFile ${file}: the token is ${token.length} characters, at least ${MIN_TOKEN_CHARS} are needed`);
  if (!/^[\x21-\x7e]+$/.test(token)) throw new Error(`dashboard.tokenFile ${file}: the token must be one line of printable ASCII without spaces`);
  return token;
}

/** Longest Authorization header looked at: a token is a few dozen bytes, anything longer is refused unread. */
const MAX_AUTHORIZATION_BYTES = 1024;

/**
 * Whether an Authorization header carries `Bearer <token>` (the actions and /metrics beyond loopback). Constant-time:
 * both sides are hashed to the same length first (timingSafeEqual needs equal lengths, and comparing lengths
 * directly would leak the token's). No token configured: never.
 */
export function bearerMatches(header: string | undefined, token: string | undefined): boolean {
  if (!token || typeof header !== 'string' || header.length > MAX_AUTHORIZATION_BYTES) return false;
  const m = /^Bearer[ ]+(\S+)[ ]*$/i.exec(header);
  if (!m?.[1]) return false;
  const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
  return timingSafeEqual(digest(m[1]), digest(token));
}
