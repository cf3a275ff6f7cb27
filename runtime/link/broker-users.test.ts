// The embedded broker's users file (broker-users.ts): plain passwords and the hashes mosquitto_passwd(1) writes —
// made here by the real tool, both of its algorithms — verify the right password only; malformed hashes fail the
// parse naming the line and the reason, never the text.
import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { BrokerUsers, MAX_ITERATIONS } from './broker-users.ts';

const pw = (s: string) => Buffer.from(s, 'utf8');

/** A password file written by mosquitto_passwd: `-c -b` for the first user, `-b` for the others. */
async function mosquittoFile(t: Test, users: readonly (readonly [string, string, 'sha512' | 'sha512-pbkdf2'])[], convert?: string): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'os-broker-passwd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'users');
  if (convert !== undefined) {
    await writeFile(file, convert);
    execFileSync('mosquitto_passwd', ['-U', file]);
  }
  users.forEach(([user, password, hash], i) => execFileSync('mosquitto_passwd', ['-H', hash, ...(i === 0 && convert === undefined ? ['-c'] : []), '-b', file, user, password]));
  return readFile(file, 'utf8');
}

t.test("mosquitto_passwd's files verify as is: PBKDF2-SHA512 ($7$), SHA-512 ($6$), and a plain file it hashed (-U)", async (t) => {
  if (!requireTool(t, 'mosquitto_passwd', 'mosquitto')) return;
  const text = await mosquittoFile(t, [['bridge', 's3cret:with:colons', 'sha512-pbkdf2'], ['legacy', 'hunter2', 'sha512']]);
  t.match(text, /^bridge:\$7\$101\$/m, 'the tool wrote a $7$ entry');
  t.match(text, /^legacy:\$6\$/m, 'and a $6$ one');
  const users = BrokerUsers.parse(`${text}plain:open sesame\n`, 'users');
  t.equal(users.size, 3);
  t.ok(users.verify('bridge', pw('s3cret:with:colons')));
  t.notOk(users.verify('bridge', pw('s3cret:with:colon')));
  t.ok(users.verify('legacy', pw('hunter2')));
  t.notOk(users.verify('legacy', pw('hunter3')));
  t.ok(users.verify('plain', pw('open sesame')), 'plain lines still work beside hashed ones');
  t.notOk(users.verify('plain', pw('$7$open sesame')));
  t.notOk(users.verify('nobody', pw('hunter2')), 'an unknown user (the decoy check runs, nothing matches)');
  t.notOk(users.verify('bridge', undefined), 'no password');
  t.notOk(users.verify(undefined, undefined));

  // -U hashes a plain file in place; it ends each password at its next ':' (README: hash such a password with -b).
  const converted = BrokerUsers.parse(await mosquittoFile(t, [], 'ops:hunter2\nsensor:x:y\n'), 'users');
  t.ok(converted.verify('ops', pw('hunter2')));
  t.notOk(converted.verify('ops', pw('x')));
  t.ok(converted.verify('sensor', pw('x')), "mosquitto_passwd -U kept only the part before the password's ':'");
});

t.test('a malformed hash fails the parse with its line and reason, and never quotes the line', async (t) => {
  const salt = Buffer.alloc(12, 1).toString('base64');
  const hash = Buffer.alloc(64, 2).toString('base64');
  const cases: [string, RegExp][] = [
    [`$7$101$${salt}`, /a \$7\$ hash is \$7\$<iterations>\$<salt>\$<hash>/],
    [`$7$0$${salt}$${hash}`, /iteration count must be a whole number from 1 to 10000/],
    [`$7$${MAX_ITERATIONS + 1}$${salt}$${hash}`, /iteration count must be a whole number from 1 to 10000/],
    [`$7$1e3$${salt}$${hash}`, /iteration count/],
    [`$7$101$${salt}$${Buffer.alloc(32).toString('base64')}`, /hash is not 64 bytes/],
    [`$7$101$not*base64$${hash}`, /no valid base64 salt/],
    [`$7$101$$${hash}`, /no valid base64 salt/],
    [`$6$${salt}`, /a \$6\$ hash is \$6\$<salt>\$<hash>/],
    [`$6$${salt}$${hash}x`, /hash is not 64 bytes of base64/],
  ];
  for (const [field, why] of cases) {
    const text = `# users\nok:fine\nbad:${field}\n`;
    let message = '';
    t.throws(() => {
      try {
        BrokerUsers.parse(text, '/etc/openstarry/broker-users');
      } catch (err) {
        message = (err as Error).message;
        throw err;
      }
    }, { code: 'ERR_LINK_CONFIG' });
    t.match(message, /^mqtt\.embeddedBroker\.usersFile: \/etc\/openstarry\/broker-users line 3: /, field);
    t.match(message, why, field);
    t.notOk(message.includes(field), `the message does not quote ${field}`);
  }
  t.ok(BrokerUsers.parse(`a:$7$${MAX_ITERATIONS}$${salt}$${hash}\n`, 'f').size === 1, `${MAX_ITERATIONS} rounds is allowed`);
});
