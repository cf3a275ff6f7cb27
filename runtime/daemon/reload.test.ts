// The reload logic (SIGHUP / openstarry reload) with fake rules and store: the report, errors as `file: field: reason`
// lines, the running rules kept on a bad file, and reloads serialised (one more run after the current, shared).
import t from 'tap';
import type { LocalReload } from '../design/template-store.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import { ManualClock } from '../manual-clock.ts';
import type { RuleSet } from '../orchestrator/rules-schema.ts';
import { emptyRuleSet } from '../orchestrator/orchestration-service.ts';
import { Daemon } from './daemon.ts';
import type { ReloadDeps } from './reload.ts';
import { Reloader } from './reload.ts';

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const log: Logger = {
    debug: (m) => void lines.push(`debug ${m}`),
    info: (m) => void lines.push(`info ${m}`),
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
    child: () => log,
    setLevel: () => undefined,
  };
  return { log, lines };
}

const noChange: LocalReload = { added: [], changed: [], removed: [], kept: [], invalid: [] };

interface Fake {
  deps: ReloadDeps;
  lines: string[];
  /** What the next reloadRules does: a rule set (replaced), undefined (no file) or an error. */
  nextRules: RuleSet | undefined | Error;
  nextTemplates: LocalReload | Error;
  calls: { rules: number; templates: number; recorded: number };
  /** When set, reloadRules waits for it. */
  gate: Promise<void> | undefined;
}

function fake(): Fake {
  const { log, lines } = recordingLog();
  let running: RuleSet = { ...emptyRuleSet('/etc/openstarry/rules.yaml') };
  let valid = 3;
  const f: Fake = {
    lines,
    nextRules: undefined,
    nextTemplates: noChange,
    calls: { rules: 0, templates: 0, recorded: 0 },
    gate: undefined,
    deps: {
      rules: {
        reloadRules: async () => {
          f.calls.rules++;
          if (f.gate) await f.gate;
          const next = f.nextRules;
          if (next instanceof Error) throw next;
          if (next) running = next;
          return next;
        },
        get rulesFile() {
          return running.file;
        },
        get ruleCount() {
          return running.rules.length;
        },
      },
      store: {
        reloadLocal: async () => {
          f.calls.templates++;
          const next = f.nextTemplates;
          if (next instanceof Error) throw next;
          valid += next.added.length - next.removed.length;
          return next;
        },
        list: () => Array.from({ length: valid }),
      },
      templatesReloaded: () => void f.calls.recorded++,
      log,
      clock: new ManualClock(Date.parse('2026-05-01T12:00:00.000Z')),
    },
  };
  return f;
}

const twoRules = (): RuleSet => ({ ...emptyRuleSet('/etc/openstarry/rules.yaml'), rules: [{}, {}] as unknown as RuleSet['rules'] });

t.test('a good reload: rules replaced, template changes listed, registry recorded, ok', async (t) => {
  const f = fake();
  f.nextRules = twoRules();
  f.nextTemplates = { ...noChange, added: ['newcomer'], changed: ['hello-sensor'] };
  const r = new Reloader(f.deps);
  t.equal(r.last, undefined, 'nothing before the first reload');
  const report = await r.request('signal');
  t.same(report, {
    at: '2026-05-01T12:00:00.000Z',
    trigger: 'signal',
    ok: true,
    errors: [],
    rules: { file: '/etc/openstarry/rules.yaml', count: 2, replaced: true },
    templates: { valid: 4, added: ['newcomer'], changed: ['hello-sensor'], removed: [], kept: [] },
  });
  t.equal(r.last, report, 'status shows it');
  t.equal(f.calls.recorded, 1);
  t.match(f.lines, ['info reloading the rules file, the local templates and the dashboard token (SIGHUP)', 'info reloaded: 2 rule(s) from /etc/openstarry/rules.yaml; 4 template(s), added newcomer, changed hello-sensor']);
});

t.test('a bad rules file keeps the running rules; every problem is reported and logged as file: field: reason', async (t) => {
  const f = fake();
  f.nextRules = twoRules();
  const r = new Reloader(f.deps);
  await r.request('control');
  const message = '/etc/openstarry/rules.yaml: rules[1].if: unknown function "foo"\n/etc/openstarry/rules.yaml: rules[2].action: "jump(x)" is not an action';
  f.nextRules = new OpenStarryError(ErrorCode.RULES_INVALID, message);
  f.nextTemplates = {
    ...noChange,
    kept: ['hello-sensor'],
    invalid: [{ file: '/t/hello-sensor/agent.json', error: '/t/hello-sensor/agent.json: limits.memoryMb: Too small', problems: [] }],
  };
  const report = await r.request('signal');
  t.equal(report.ok, false);
  t.same(report.errors, [
    '/etc/openstarry/rules.yaml: rules[1].if: unknown function "foo"',
    '/etc/openstarry/rules.yaml: rules[2].action: "jump(x)" is not an action',
    '/t/hello-sensor/agent.json: limits.memoryMb: Too small',
  ]);
  t.same(report.rules, { file: '/etc/openstarry/rules.yaml', count: 2, replaced: false }, 'the two running rules stay');
  t.same(report.templates.kept, ['hello-sensor']);
  t.ok(f.lines.includes('warn rules file not reloaded: the running rules stay in force'));
  t.ok(f.lines.includes('warn reload: /etc/openstarry/rules.yaml: rules[1].if: unknown function "foo"'));
  t.ok(f.lines.includes('warn reload: /t/hello-sensor/agent.json: limits.memoryMb: Too small'));
  t.match(f.lines.at(-1), /^warn reloaded with 3 problem\(s\): 2 rule\(s\) from \/etc\/openstarry\/rules\.yaml \(unchanged\); 3 template\(s\), last good version kept for hello-sensor$/);
});

t.test('an unreadable template directory keeps the current set; no rules file: nothing to replace', async (t) => {
  const f = fake();
  f.nextTemplates = new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, 'template directory /t cannot be read: EACCES: permission denied');
  const report = await new Reloader(f.deps).request('control');
  t.same(report.errors, ['template directory /t cannot be read: EACCES: permission denied']);
  t.same(report.templates, { valid: 3, added: [], changed: [], removed: [], kept: [] });
  t.equal(report.rules.replaced, false);
  t.equal(f.calls.recorded, 0, 'the registry is left as it is');
});

t.test('reloads never overlap: requests during one share a single run after it', async (t) => {
  const f = fake();
  let open!: () => void;
  f.gate = new Promise<void>((resolve) => (open = resolve));
  const r = new Reloader(f.deps);
  const first = r.request('signal');
  const second = r.request('signal');
  const third = r.request('control');
  t.equal(second, third, 'the requests made meanwhile share one run');
  await new Promise((resolve) => setImmediate(resolve));
  t.equal(f.calls.rules, 1, 'the second has not started while the first runs');
  f.gate = undefined;
  open();
  const [a, b] = await Promise.all([first, second]);
  t.equal(f.calls.rules, 2, 'exactly one more run');
  t.not(a, b);
  t.ok(f.lines.includes('info reload requested (signal) while one runs: it runs again right after'));
  await r.request('control');
  t.equal(f.calls.rules, 3, 'idle again: the next request runs at once');
});

t.test('the daemon: SIGHUP during boot or shutdown is logged and ignored; openstarry reload gets ERR_NOT_READY', async (t) => {
  const { log, lines } = recordingLog();
  const daemon = new Daemon({ log, env: { OPENSTARRY_HOME: t.testdir({}) } });
  daemon.hangup(); // before the boot got anywhere: must not throw (a signal handler has no one to throw to)
  await t.rejects(daemon.reload(), { code: ErrorCode.NOT_READY, message: /still booting/ });
  await new Promise((resolve) => setImmediate(resolve));
  t.match(lines, [/^warn SIGHUP ignored: the daemon is still booting/]);
  await daemon.shutdown();
  daemon.hangup();
  await new Promise((resolve) => setImmediate(resolve));
  t.match(lines.at(-1), /^warn SIGHUP ignored: the daemon is shutting down/);
});

t.test("the dashboard's token file is read again: rotated, or kept with the file's error as a problem", async (t) => {
  const f = fake();
  let next: 'rotated' | 'unchanged' | Error = 'rotated';
  const r = new Reloader({ ...f.deps, dashboard: { reloadToken: async () => { if (next instanceof Error) throw next; return next; } } });
  let report = await r.request('control');
  t.same(report.dashboard, { token: 'rotated' });
  t.equal(report.ok, true);
  next = new Error('dashboard.tokenFile /etc/openstarry/dashboard-token: the token is 5 characters, at least 16 are needed');
  report = await r.request('signal');
  t.same(report.dashboard, { token: 'kept' });
  t.equal(report.ok, false);
  t.same(report.errors, ['dashboard.tokenFile /etc/openstarry/dashboard-token: the token is 5 characters, at least 16 are needed']);
  t.ok(f.lines.includes('warn dashboard token not reloaded: the current one stays'), 'logged');
  const without = await new Reloader(fake().deps).request('signal');
  t.notOk('dashboard' in without, 'no dashboard: no such part in the report');
});
