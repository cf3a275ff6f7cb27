// `openstarry deploy status` (README "Deploying updates") in-process against a real mosquitto with users: the table
// from retained messages under a custom root, the group's rows only, the exit codes (0 table, 1 a board rolled back
// or no board, 2 usage, 3 broker not reachable), and the login from --username/--password-file.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import t from 'tap';
import { startMosquitto } from '../../scripts/testing/mosquitto.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

t.test('usage errors exit 2', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['deploy', 'status'], /--broker URL is required/],
    [['deploy', 'status', '--broker', 'http://x'], /must be an mqtt:\/\//],
    [['deploy', 'status', '--broker', 'mqtt://x', '--prefix', 'a/+/b'], /--prefix "a\/\+\/b" must be topic levels/],
    [['deploy', 'status', '--broker', 'mqtt://x', '--password-file', 'p'], /--password-file needs --username/],
    [['deploy', 'status', '--broker', 'mqtt://x', '--timeout', 'soon'], /--timeout must be a duration/],
    [['deploy', 'status', 'extra', '--broker', 'mqtt://x'], /takes no arguments/],
  ];
  for (const [argv, message] of cases) {
    const io = captureIo();
    t.equal(await main(argv, io), 2, argv.join(' '));
    t.match(io.stderr.join('\n'), message);
  }
  const io = captureIo();
  t.equal(await main(['deploy', '--help'], io), 0);
  t.match(io.stdout.join('\n'), /deploy status --broker URL .*\n.*\n.*\n.*\n.*exit 0 table printed, 1 a board rolled-back\/refused/, '--help says the exit codes');
});

t.test('the table under a custom prefix, with a login; exit 1 when a board of the group rolled back; 3 when the broker is down', async (t) => {
  if (!requireTool(t, 'mosquitto', 'mosquitto')) return;
  const dir = t.testdir();
  const broker = await startMosquitto({ dir, users: [{ username: 'ops', password: 's3cret' }] });
  t.teardown(() => broker.kill());
  const url = broker.url;
  writeFileSync(path.join(dir, 'pw'), 's3cret\n');
  const board = await mqtt.connectAsync(url, { username: 'ops', password: 's3cret' });
  t.teardown(() => board.endAsync(true));
  const retain = (topic: string, v: unknown) => board.publishAsync(topic, JSON.stringify(v), { qos: 1, retain: true });
  const status = (version: string, phase: string, reason?: string) => ({ templateId: 'climate', version, sha256: 'a'.repeat(64), phase, ...(reason ? { reason } : {}), at: '2026-12-06T08:00:00.000Z' });
  await retain('farm/gh-01/deploy/groups', { groups: ['greenhouse'] });
  await retain('farm/gh-01/deploy/status', status('2.0.0', 'healthy'));
  await retain('farm/gh-02/deploy/groups', { groups: ['greenhouse'] });
  await retain('farm/gh-02/deploy/status', status('2.0.0', 'pending', 'bundle fetch failed; attempt 1 failed, next in 5 s'));
  await retain('farm/north-1/deploy/groups', { groups: ['north'] });
  await retain('farm/north-1/deploy/status', status('2.0.0', 'rolled-back', 'crashed at start'));
  await retain('openstarry/other/deploy/groups', { groups: ['greenhouse'] });
  const login = ['--username', 'ops', '--password-file', path.join(dir, 'pw')];

  let io = captureIo(dir);
  t.equal(await main(['deploy', 'status', '--broker', url, '--prefix', 'farm', '--group', 'greenhouse', ...login], io), 0, io.stderr.join('\n'));
  t.equal(io.stdout.length, 3, 'a header and the two boards of the group under farm/');
  t.match(io.stdout[1], /^gh-01\s+climate\s+2\.0\.0\s+healthy/);
  t.match(io.stdout[2], /^gh-02\s+climate\s+2\.0\.0\s+pending\s+\S+\s+bundle fetch failed/);

  io = captureIo(dir);
  t.equal(await main(['deploy', 'status', '--broker', url, '--prefix', 'farm/', ...login, '--json'], io), 1, 'north-1 rolled back');
  t.same((JSON.parse(io.stdout.join('\n')) as Array<{ device: string }>).map((r) => r.device), ['gh-01', 'gh-02', 'north-1']);
  t.match(io.stderr.join('\n'), /1 board\(s\) rolled back or refused: north-1/);

  io = captureIo(dir);
  t.equal(await main(['deploy', 'status', '--broker', url, '--group', 'nobody', ...login], io), 1, 'no board in the group');
  t.match(io.stderr.join('\n'), /no board of group nobody under openstarry\//);

  io = captureIo(dir);
  t.equal(await main(['deploy', 'status', '--broker', url, '--timeout', '2s'], io), 3, 'refused without a login');
  t.match(io.stderr.join('\n'), /openstarry: mqtt:\/\/.*: .*(authori[sz]ed|Connection refused)/i);

  await broker.stop();
  io = captureIo(dir);
  t.equal(await main(['deploy', 'status', '--broker', url, '--timeout', '2s', ...login], io), 3, 'broker down');
  t.match(io.stderr.join('\n'), /ECONNREFUSED|closed/);
});
