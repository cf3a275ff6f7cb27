/**
 * Topic access of the embedded broker's local clients (`mqtt.embeddedBroker.aclFile`, README "MQTT, remote triggers
 * and rules"), in mosquitto's acl_file format so that a mosquitto ACL file serves as is (mosquitto.conf(5),
 * "acl_file"; the same rules as mosquitto 2.0's default check):
 *
 *   # comment                            blank lines and lines starting with `#` are skipped
 *   topic [read|write|readwrite|deny] F  before any `user` line: anonymous clients; after `user NAME`: that user
 *   user NAME                            the username of the CONNECT (not the client id)
 *   pattern [read|write|readwrite|deny] F  every client, with a level `%c` read as its client id, `%u` as its username
 *
 * The access word may be left out (readwrite). Once the file is set, a client may do only what it grants:
 *   - `write` is checked on each PUBLISH (and on the will at CONNECT), on top of the broker's own publish policy
 *     (broker-policy.ts: the ACL can only narrow it, never open the board's own topics);
 *   - `read` is checked on each message the broker is about to deliver, retained ones included: a client may
 *     subscribe to any filter (`#` too), and receives only the messages whose topic it may read (as mosquitto does:
 *     it checks no subscription, only deliveries);
 *   - `deny` entries are checked first, then the grants in file order: the user's (or the anonymous clients') own
 *     entries, then the patterns; no match denies. Entries not starting with `$` never match a `$` topic.
 *   - A client whose id or username is empty or holds `+`, `#` or `/` gets nothing from the patterns (its own
 *     entries still apply): substituted, it would widen a pattern to other clients' topics (`devices/%c/#` for the
 *     id `cam1/cmd` is inside `cam1`'s). A pattern with `%u` does not apply to anonymous clients. `%c` and `%u`
 *     stand for whole levels only: a filter such as `a/%c-raw` is taken literally (some mosquitto releases
 *     substitute them inside a level too; such a line grants nothing here).
 * The daemon's own link client is not subject to it.
 */
import { OpenStarryError } from '../errors.ts';
import { LinkErrorCode } from './errors.ts';
import { checkTopicFilter, topicMatches } from './mqtt-topics.ts';

export type AclAccess = 'read' | 'write';

/** Entries one file may hold: each delivery to a local client walks that client's entries. */
export const MAX_ACL_ENTRIES = 10_000;

interface Entry {
  filter: string;
  /** Empty: deny. */
  access: ReadonlySet<AclAccess>;
  usesUsername: boolean;
}

/** Deny entries first, then grants in file order (as mosquitto orders them when it reads the file). */
function ordered(entries: readonly Entry[]): Entry[] {
  return [...entries.filter((e) => e.access.size === 0), ...entries.filter((e) => e.access.size > 0)];
}

const ACCESS: Readonly<Record<string, readonly AclAccess[]>> = { read: ['read'], write: ['write'], readwrite: ['read', 'write'], deny: [] };

export interface AclClient {
  id: string;
  /** Undefined: an anonymous client. */
  username: string | undefined;
}

export class BrokerAcl {
  readonly #anonymous: readonly Entry[];
  readonly #users: ReadonlyMap<string, readonly Entry[]>;
  readonly #patterns: readonly Entry[];
  /** The patterns an anonymous client gets (none with %u): chosen once, not on every delivery. */
  readonly #anonymousPatterns: readonly Entry[];

  private constructor(anonymous: readonly Entry[], users: ReadonlyMap<string, readonly Entry[]>, patterns: readonly Entry[]) {
    this.#anonymous = ordered(anonymous);
    this.#users = new Map([...users].map(([user, entries]) => [user, ordered(entries)]));
    this.#patterns = ordered(patterns);
    this.#anonymousPatterns = this.#patterns.filter((p) => !p.usesUsername);
  }

  /** `file` only names the source in errors, which give the line number and the reason (never other lines' text). */
  static parse(text: string, file: string): BrokerAcl {
    const anonymous: Entry[] = [];
    const users = new Map<string, Entry[]>();
    const patterns: Entry[] = [];
    let current: Entry[] = anonymous;
    let count = 0;
    text.split(/\r?\n/).forEach((raw, index) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const at = `mqtt.embeddedBroker.aclFile: ${file} line ${index + 1}`;
      const fail = (why: string) => new OpenStarryError(LinkErrorCode.CONFIG, `${at}: ${why}`);
      const [keyword = '', ...rest] = line.split(/\s+/);
      if (keyword === 'user') {
        // mosquitto takes the rest of the line: a username may hold spaces.
        const name = line.slice(keyword.length).trim();
        if (name === '') throw fail('"user" needs a username');
        current = users.get(name) ?? [];
        users.set(name, current);
        return;
      }
      if (keyword !== 'topic' && keyword !== 'pattern') throw fail(`unknown keyword ${JSON.stringify(keyword.slice(0, 40))}: expected topic, pattern or user`);
      if (rest.length === 0) throw fail(`"${keyword}" needs a topic filter`);
      const first = rest[0] as string;
      const hasAccess = rest.length > 1 && Object.hasOwn(ACCESS, first);
      if (rest.length > 1 && !hasAccess) throw fail(`the access must be read, write, readwrite or deny, not ${JSON.stringify(first.slice(0, 40))}`);
      // Like the username, the filter is the rest of the line (an MQTT topic may hold spaces).
      const filter = hasAccess ? line.slice(line.indexOf(first, keyword.length) + first.length).trim() : rest.join(' ');
      try {
        checkTopicFilter(filter);
      } catch (err) {
        throw fail((err as Error).message);
      }
      if (++count > MAX_ACL_ENTRIES) throw fail(`more than ${MAX_ACL_ENTRIES} entries`);
      const levels = filter.split('/');
      const entry: Entry = { filter, access: new Set(ACCESS[hasAccess ? first : 'readwrite']), usesUsername: levels.includes('%u') };
      if (keyword === 'pattern') patterns.push(entry);
      else current.push(entry);
    });
    return new BrokerAcl(anonymous, users, patterns);
  }

  /** May this local client read (receive) or write (publish to) `topic`? */
  allows(client: AclClient, topic: string, access: AclAccess): boolean {
    const own = client.username === undefined ? this.#anonymous : (this.#users.get(client.username) ?? []);
    const verdict = decide(own, topic, access, (filter) => filter);
    if (verdict !== undefined) return verdict;
    if (this.#patterns.length === 0) return false;
    if (!safeLevel(client.id) || (client.username !== undefined && !safeLevel(client.username))) return false;
    const patterns = client.username === undefined ? this.#anonymousPatterns : this.#patterns;
    return decide(patterns, topic, access, (filter) => substitute(filter, client)) ?? false;
  }
}

/** The first entry that matches decides: a deny refuses, a grant holding `access` allows; undefined: none did. */
function decide(entries: readonly Entry[], topic: string, access: AclAccess, expand: (filter: string) => string): boolean | undefined {
  for (const entry of entries) {
    if (topic.startsWith('$') && !entry.filter.startsWith('$')) continue;
    if (!topicMatches(expand(entry.filter), topic)) continue;
    if (entry.access.size === 0) return false;
    if (entry.access.has(access)) return true;
  }
  return undefined;
}

/** A value that can stand for exactly one topic level: not empty, no wildcard, no separator. */
function safeLevel(value: string): boolean {
  return value !== '' && !/[+#/]/.test(value);
}

/** `%c` and `%u` as whole levels (see the header). */
function substitute(filter: string, client: AclClient): string {
  return filter
    .split('/')
    .map((level) => (level === '%c' ? client.id : level === '%u' ? (client.username ?? level) : level))
    .join('/');
}
