import t from 'tap';
import { agentStatus, logLine } from '../control/test-kit.ts';
import { formatLogLine } from './commands/logs.ts';
import { psTable } from './commands/ps.ts';
import { statusText } from './commands/status.ts';
import type { DaemonStatus } from '../control/protocol.ts';
import { templatesText } from './commands/templates.ts';
import { formatBytes, formatDuration, formatTable } from './format.ts';

t.test('formatTable aligns columns without trailing spaces', async (t) => {
  t.equal(formatTable(['A', 'LONGER', 'LAST'], [['xyz', '1', 'free text here'], ['q', '', '']]), ['A    LONGER  LAST', 'xyz  1       free text here', 'q'].join('\n'));
  t.equal(formatTable(['ONLY'], []), 'ONLY');
});

t.test('formatDuration', async (t) => {
  const cases: [number, string][] = [
    [0, '0ms'],
    [850, '850ms'],
    [12_345, '12.3s'],
    [59_999, '59.9s'],
    [245_000, '4m05s'],
    [2 * 3600_000 + 7 * 60_000, '2h07m'],
    [3 * 86_400_000 + 4 * 3600_000 + 5, '3d04h'],
    [-1, '-'],
    [Number.NaN, '-'],
  ];
  for (const [ms, text] of cases) t.equal(formatDuration(ms), text, String(ms));
});

t.test('formatBytes', async (t) => {
  const cases: [number, string][] = [
    [0, '0B'],
    [512, '512B'],
    [1536, '1.5KiB'],
    [12.3 * 1024 * 1024, '12.3MiB'],
    [256 * 1024 * 1024, '256MiB'],
    [3 * 1024 ** 3, '3.0GiB'],
    [-5, '-'],
  ];
  for (const [n, text] of cases) t.equal(formatBytes(n), text, String(n));
});

t.test('ps table: uptime only for live agents, tokens with their budget, reason or exit code last', async (t) => {
  const now = Date.parse('2024-01-01T00:04:05.000Z');
  const text = psTable(
    [
      agentStatus({ pid: '1', agentId: 'master', template: 'master' }),
      agentStatus({ pid: '12', agentId: 'pump', template: '/srv/pump/agent.json', state: 'crashed', exitCode: 1, reason: 'start() threw: no sensor', memoryBytes: 0, cpuPercent: 0, restarts: 3 }),
      agentStatus({ pid: '13', agentId: 'fan', state: 'exited', exitCode: 0 }),
      agentStatus({ pid: '14', agentId: 'llm', state: 'crashed', exitCode: 1, cpuPercent: 0, memoryBytes: 0, restarts: 1, tokensUsed: 1201, tokensBudget: 1000, quarantined: true, reason: 'quarantined: token-budget: used 1201 of 1000 tokens; gave up after 1 restarts' }),
    ],
    now,
  );
  t.equal(
    text,
    [
      'PID  AGENT   TEMPLATE              ISOLATION  STATE    RESTARTS  CPU%  MEM      TOKENS     UPTIME  REASON',
      '1    master  master                worker     running  0         1.5   12.0MiB  0          4m05s',
      '12   pump    /srv/pump/agent.json  worker     crashed  3         0.0   0B       0          -       start() threw: no sensor',
      '13   fan     thermostat            worker     exited   0         1.5   12.0MiB  0          -       exit code 0',
      '14   llm     thermostat            worker     crashed  1         0.0   0B       1201/1000  -       quarantined: token-budget: used 1201 of 1000 tokens; gave up after 1 restarts',
    ].join('\n'),
  );
});

t.test('templates text lists invalid templates with their errors', async (t) => {
  const text = templatesText({
    dir: '/t',
    templates: [{ id: 'pump', version: '1.0.0', path: '/t/pump/agent.json', hash: 'abcdef0123456789', isolation: 'worker', capabilities: [], source: 'local' }],
    invalid: [{ file: '/t/bad/agent.json', error: '/t/bad/agent.json: version: must be a semantic version' }],
  });
  t.equal(
    text,
    [
      'ID    VERSION  ISOLATION  SOURCE  HASH          PATH',
      'pump  1.0.0    worker     local   abcdef012345  /t/pump/agent.json',
      '',
      'invalid templates (excluded):',
      '  /t/bad/agent.json: /t/bad/agent.json: version: must be a semantic version',
    ].join('\n'),
  );
});

t.test('templates text says where the remote templates come from and when the service is unreachable', async (t) => {
  const text = templatesText({
    dir: '/t',
    templates: [{ id: 'pump', version: '2.0.0', path: '/h/design-cache/pump/agent.json', hash: 'abcdef0123456789', isolation: 'worker', capabilities: [], source: 'cache' }],
    invalid: [],
    remote: { url: 'http://d:7410', state: 'unreachable', lastError: 'ECONNREFUSED', cacheDir: '/h/design-cache', syncedAt: '2026-11-21T10:00:00.000Z', templates: 1 },
  });
  t.match(text, 'pump  2.0.0    worker     cache');
  t.match(text, 'design layer http://d:7410: UNREACHABLE (ECONNREFUSED); using the cache in /h/design-cache from 2026-11-21T10:00:00.000Z');
});

t.test('log lines', async (t) => {
  t.equal(formatLogLine(logLine(1)), '2024-01-01T00:00:00.000Z info thermostat[1] line 1');
  t.equal(formatLogLine(logLine(2, { level: 'warn', fields: { t: 21.5 } })), '2024-01-01T00:00:00.000Z warn thermostat[1] line 2 {"t":21.5}');
  t.equal(formatLogLine(logLine(3, { fields: {} })), '2024-01-01T00:00:00.000Z info thermostat[1] line 3');
});

t.test('status text', async (t) => {
  const text = statusText({
    version: '0.1.0',
    deviceId: 'greenhouse-1',
    pid: 321,
    state: 'ready',
    phase: 'ready',
    phases: [
      { name: 'infrastructure', state: 'done', durationMs: 12 },
      { name: 'design', state: 'degraded', durationMs: 1500, detail: '1 template excluded' },
      { name: 'control', state: 'pending' },
    ],
    board: { name: 'sim', detectedBy: 'fallback' },
    degraded: ['template-excluded'],
    home: '/var/lib/openstarry',
    socket: '/run/openstarry/openstarryd.sock',
    startedAt: '2024-01-01T00:00:00.000Z',
    uptimeMs: 245_000,
    templates: { dir: '/t', valid: 2, invalid: [{ file: '/t/bad/agent.json', error: 'version: must be a semantic version' }] },
    infrastructure: [],
    link: { state: 'absent' },
    agents: { starting: 0, running: 2, stopping: 0, exited: 0, crashed: 1, restarting: 0, total: 3 },
    masterPid: '1',
  });
  t.equal(
    text,
    [
      'openstarryd 0.1.0 (pid 321): ready, phase ready',
      'device:     greenhouse-1',
      'board:      sim, detected by fallback',
      'uptime:     4m05s (since 2024-01-01T00:00:00.000Z)',
      'config:     (none: defaults)',
      'home:       /var/lib/openstarry',
      'socket:     /run/openstarry/openstarryd.sock',
      'degraded:   template-excluded',
      'link:       absent',
      'agents:     3 total (running 2, crashed 1), master pid 1',
      'templates:  2 valid, 1 invalid in /t',
      '  invalid: /t/bad/agent.json: version: must be a semantic version',
      '',
      'boot phases:',
      '  PHASE           STATE     TIME  DETAIL',
      '  infrastructure  done      12ms',
      '  design          degraded  1.5s  1 template excluded',
      '  control         pending   -',
    ].join('\n'),
  );
});

t.test('status text lists resources per driver and in total when the daemon sends them', async (t) => {
  const zero = { agents: 0, cpuPercent: 0, memoryBytes: 0, tokensUsed: 0, quarantined: 0 };
  const text = statusText({
    version: '0.1.0', deviceId: 'd', pid: 1, state: 'ready', phase: 'ready', phases: [], board: { name: 'sim', detectedBy: 'fallback' }, degraded: [],
    home: '/h', socket: '/s', startedAt: '2024-01-01T00:00:00.000Z', uptimeMs: 1000, templates: { dir: '/t', valid: 2, invalid: [] }, infrastructure: [],
    link: { state: 'absent' }, agents: { starting: 0, running: 2, stopping: 0, exited: 0, crashed: 1, restarting: 0, total: 3 },
    resources: {
      byDriver: { worker: { agents: 2, cpuPercent: 12.5, memoryBytes: 30 * 1024 * 1024, tokensUsed: 1201, quarantined: 1 }, process: zero },
      total: { agents: 2, cpuPercent: 12.5, memoryBytes: 30 * 1024 * 1024, tokensUsed: 1201, quarantined: 1 },
    },
  });
  t.match(text, [
    'resources (live agents; tokens include ended ones):',
    '  DRIVER   AGENTS  CPU%  MEM      TOKENS  QUARANTINED',
    '  worker   2       12.5  30.0MiB  1201    1',
    '  process  0       0.0   0B       0       0',
    '  total    2       12.5  30.0MiB  1201    1',
    '',
    'boot phases:',
  ].join('\n'));
});

t.test('status text shows the sd_notify transport and the watchdog', async (t) => {
  const base = {
    version: '0.1.0', deviceId: 'd', pid: 1, state: 'ready', phase: 'ready', phases: [], board: { name: 'sim', detectedBy: 'fallback' }, degraded: [],
    home: '/h', socket: '/s', startedAt: '2024-01-01T00:00:00.000Z', uptimeMs: 1000, templates: { dir: '/t', valid: 2, invalid: [] }, infrastructure: [],
    link: { state: 'absent' }, agents: { starting: 0, running: 1, stopping: 0, exited: 0, crashed: 0, restarting: 0, total: 1 },
  } satisfies DaemonStatus;
  const line = (systemd: Parameters<typeof statusText>[0]['systemd']) => statusText({ ...base, systemd }).split('\n').find((l) => l.startsWith('systemd:'));
  t.equal(line(undefined), undefined, 'an older daemon sends nothing: no line');
  t.equal(line({ notify: 'off', watchdog: { state: 'off', reason: 'NOTIFY_SOCKET is not set' } }), 'systemd:    not started by systemd (no NOTIFY_SOCKET)');
  t.equal(line({ notify: 'addon', watchdog: { state: 'pinging', intervalMs: 30_000, periodMs: 15_000, maxLagMs: 7_500, pings: 12 } }), 'systemd:    notify addon, watchdog pinging every 15.0s (interval 30.0s, 12 pings)');
  t.equal(line({ notify: 'addon', watchdog: { state: 'off', reason: 'WATCHDOG_USEC is not set' } }), 'systemd:    notify addon, watchdog off (WATCHDOG_USEC is not set)');
  t.equal(
    line({ notify: 'systemd-notify', notifyFallback: 'Cannot find module', watchdog: { state: 'withheld', intervalMs: 30_000, periodMs: 15_000, maxLagMs: 7_500, pings: 3, reason: 'the event loop answered 9000 ms late (limit 7500 ms)' } }),
    'systemd:    notify systemd-notify (fork per message; addon not loaded: Cannot find module), watchdog withheld every 15.0s (interval 30.0s, 3 pings): the event loop answered 9000 ms late (limit 7500 ms)',
  );
});
