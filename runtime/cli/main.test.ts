import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import { ControlServer } from '../control/control-server.ts';
import { agentStatus, FakeDaemonApi, logLine, socketDir, waitFor } from '../control/test-kit.ts';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

async function daemon(tt: { teardown(fn: () => unknown): void }): Promise<{ api: FakeDaemonApi; server: ControlServer; sock: string[] }> {
  const dir = await socketDir(tt);
  const api = new FakeDaemonApi();
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api });
  tt.teardown(() => server.close());
  return { api, server, sock: ['--socket', server.socketPath] };
}

t.test('usage errors exit 2 with the usage on stderr', async (t) => {
  for (const argv of [[], ['frobnicate'], ['ps', '--bogus'], ['spawn'], ['kill', '1', '--signal', 'SIGHUP'], ['logs', 'x', '-n', 'many'], ['spawn', 'x', '--isolation', 'vm']]) {
    const io = captureIo();
    t.equal(await main(argv, io), 2, argv.join(' ') || '(nothing)');
    t.match(io.stderr[0], /^openstarry: /);
    t.ok(io.stderr.some((l) => l.startsWith('usage: openstarry')), 'usage printed');
    t.same(io.stdout, []);
  }
});

t.test('help exits 0 on stdout', async (t) => {
  for (const argv of [['--help'], ['help'], ['help', 'spawn'], ['spawn', '--help']]) {
    const io = captureIo();
    t.equal(await main(argv, io), 0, argv.join(' '));
    t.match(io.stdout.join('\n'), /usage: openstarry/);
  }
  const io = captureIo();
  t.equal(await main(['help', 'nope'], io), 2);
});

t.test('an unreachable daemon exits 3 with one line', async (t) => {
  const dir = await socketDir(t);
  const sock = path.join(dir, 'nobody', 'd.sock');
  for (const argv of [['ps'], ['status', '--json'], ['spawn', 'x'], ['logs', '-f', 'x']]) {
    const io = captureIo();
    t.equal(await main([...argv, '--socket', sock], io), 3, argv.join(' '));
    t.same(io.stderr, [`openstarry: cannot reach openstarryd at ${sock}: ENOENT: no socket there (is openstarryd running?)`]);
  }
  const io = captureIo(dir, { OPENSTARRY_SOCKET: 'rel.sock' });
  t.equal(await main(['ps'], io), 3);
  t.match(io.stderr[0], `at ${path.join(dir, 'rel.sock')}:`, 'OPENSTARRY_SOCKET resolves against cwd');
});

t.test('ps, kill, templates, status against a daemon', async (t) => {
  const { api, sock } = await daemon(t);
  let io = captureIo();
  t.equal(await main(['ps', ...sock], io), 0);
  t.match(io.stdout[0], /^PID\s+AGENT\s+TEMPLATE\s+ISOLATION\s+STATE\s+RESTARTS\s+CPU%\s+MEM\s+TOKENS\s+UPTIME\s+REASON$/);
  t.match(io.stdout[1], /^1\s+thermostat\s+thermostat\s+worker\s+running\s+0\s+1\.5\s+12\.0MiB\s+0\s+\S+$/);

  io = captureIo();
  t.equal(await main(['ps', '--json', ...sock], io), 0);
  t.same(JSON.parse(io.stdout.join('\n')), api.agents);

  io = captureIo();
  t.equal(await main(['kill', '7', '--signal', 'KILL', ...sock], io), 0);
  t.same(io.stdout, ['7 exited']);

  io = captureIo();
  t.equal(await main(['kill', '404', ...sock], io), 1);
  t.same(io.stderr, ['openstarry: no agent with pid 404']);

  io = captureIo();
  t.equal(await main(['templates', ...sock], io), 0);
  t.same(io.stdout, ['ID  VERSION  ISOLATION  SOURCE  HASH  PATH']);

  io = captureIo();
  t.equal(await main(['status', ...sock], io), 1, 'a domain error exits 1');
  t.same(io.stderr, ['openstarry: not booted']);
});

t.test('spawn: template ids, absolute paths, crashed agents', async (t) => {
  const { api, sock } = await daemon(t);
  const calls: string[] = [];
  const spawnAgent = api.spawnAgent.bind(api);
  api.spawnAgent = async (target, options) => {
    calls.push(target);
    if (target === 'dies') return agentStatus({ pid: '9', agentId: 'dies', state: 'crashed', exitCode: 1, reason: 'start() threw: no sensor' });
    return spawnAgent(target, options);
  };
  const cwd = t.testdir({ agents: { pump: { 'agent.json': '{}' } }, 'local.json': '{}' });

  let io = captureIo(cwd);
  t.equal(await main(['spawn', 'thermostat', ...sock], io), 0);
  t.same(io.stdout, ['42']);

  io = captureIo(cwd);
  t.equal(await main(['spawn', 'agents/pump', '--isolation', 'process', '--json', ...sock], io), 0);
  t.match(JSON.parse(io.stdout.join('\n')), { pid: '42', isolation: 'process' });

  io = captureIo(cwd);
  await main(['spawn', 'local.json', ...sock], io);
  await main(['spawn', 'missing.json', ...sock], io);
  t.same(calls, ['thermostat', path.join(cwd, 'agents/pump/agent.json'), path.join(cwd, 'local.json'), path.join(cwd, 'missing.json')]);

  io = captureIo(cwd);
  t.equal(await main(['spawn', 'dies', ...sock], io), 1);
  t.same(io.stdout, ['9'], 'the pid is still printed');
  t.same(io.stderr, ['openstarry: agent dies (pid 9) crashed: start() threw: no sensor']);

  io = captureIo(cwd);
  t.equal(await main(['spawn', 'missing', ...sock], io), 1);
  t.same(io.stderr, ['openstarry: no template "missing"']);
});

t.test('logs and logs -f', async (t) => {
  const { api, server, sock } = await daemon(t);
  let io = captureIo();
  t.equal(await main(['logs', 'thermostat', '-n', '2', ...sock], io), 0);
  t.same(io.stdout, ['2024-01-01T00:00:00.000Z info thermostat[1] line 0', '2024-01-01T00:00:00.000Z info thermostat[1] line 1']);

  io = captureIo();
  t.equal(await main(['logs', 'nobody', ...sock], io), 1);
  t.same(io.stderr, ['openstarry: no agent "nobody"']);

  io = captureIo();
  const following = main(['logs', '-f', '-n', '0', 'thermostat', ...sock], io);
  await io.interruptible;
  await waitFor(() => api.listeners.size === 1, 'the follow');
  api.emit(logLine(7, { fields: { t: 1 } }));
  await waitFor(() => io.stdout.length === 1, 'the followed line');
  io.interrupt();
  t.equal(await following, 0, 'Ctrl-C ends a follow with 0');
  t.same(io.stdout, ['2024-01-01T00:00:00.000Z info thermostat[1] line 7 {"t":1}']);

  io = captureIo();
  const orphaned = main(['logs', '--follow', 'thermostat', ...sock], io);
  await io.interruptible;
  await waitFor(() => api.listeners.size === 1, 'the second follow');
  await server.close();
  t.equal(await orphaned, 3, 'the daemon going away ends a follow with 3');
  t.equal(io.stdout.length, 3, 'the backlog was printed');
  t.match(io.stderr, [/closed the connection/]);
});

t.test('a daemon config path is resolved against cwd for start', async (t) => {
  // `start` itself runs the real daemon; here only check that a bad config fails without hanging.
  const cwd = t.testdir({});
  mkdirSync(path.join(cwd, 'c'));
  writeFileSync(path.join(cwd, 'c', 'bad.yaml'), 'deviceId: [unclosed\n');
  const io = captureIo(cwd);
  const dir = await socketDir(t);
  const code = await main(['start', '--config', 'c/bad.yaml', '--socket', path.join(dir, 'd.sock')], io);
  t.equal(code, 1);
});
