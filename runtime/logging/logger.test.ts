// The daemon logger: level filtering, child component names and the `key=value` field format.
import t from 'tap';
import { createLogger, formatFields, silentLogger } from './logger.ts';

const NOW = new Date('2026-11-21T08:00:00.000Z');

function capture(level?: 'debug' | 'info' | 'warn' | 'error') {
  const lines: string[] = [];
  const log = createLogger('openstarryd', { ...(level ? { level } : {}), write: (l) => void lines.push(l), now: () => NOW });
  return { log, lines };
}

t.test('line format: ISO time, padded level, component, message, fields, newline', async (t) => {
  const { log, lines } = capture();
  log.info('phase design done (12 ms)', { templates: 3 });
  log.warn('hot');
  log.error('boom', { code: 'ERR_X' });
  t.same(lines, [
    '2026-11-21T08:00:00.000Z info  openstarryd: phase design done (12 ms) templates=3\n',
    '2026-11-21T08:00:00.000Z warn  openstarryd: hot\n',
    '2026-11-21T08:00:00.000Z error openstarryd: boom code=ERR_X\n',
  ]);
});

t.test('the default level is info', async (t) => {
  const { log, lines } = capture();
  log.debug('hidden');
  log.info('shown');
  t.equal(lines.length, 1);
  t.match(lines[0], /info {2}openstarryd: shown/);
});

t.test('level filtering: each level lets itself and higher levels through', async (t) => {
  const expected: Record<'debug' | 'info' | 'warn' | 'error', string[]> = {
    debug: ['debug', 'info', 'warn', 'error'],
    info: ['info', 'warn', 'error'],
    warn: ['warn', 'error'],
    error: ['error'],
  };
  for (const level of ['debug', 'info', 'warn', 'error'] as const) {
    const { log, lines } = capture(level);
    log.debug('m');
    log.info('m');
    log.warn('m');
    log.error('m');
    t.same(
      lines.map((l) => l.split(' ')[1]),
      expected[level],
      `level ${level}`,
    );
  }
});

t.test('children name their component parent.child and share level and sink', async (t) => {
  const { log, lines } = capture('warn');
  const boot = log.child('boot');
  const deep = boot.child('phase');
  boot.info('filtered by the parent level');
  boot.warn('from boot');
  deep.error('from deep');
  log.error('from root');
  t.same(lines, [
    '2026-11-21T08:00:00.000Z warn  openstarryd.boot: from boot\n',
    '2026-11-21T08:00:00.000Z error openstarryd.boot.phase: from deep\n',
    '2026-11-21T08:00:00.000Z error openstarryd: from root\n',
  ]);
});

t.test('formatFields: strings bare, others as JSON, whitespace quoted, undefined skipped', async (t) => {
  t.equal(formatFields(undefined), '');
  t.equal(formatFields({}), '');
  t.equal(formatFields({ pid: '7', n: 3, ok: true, none: null }), ' pid=7 n=3 ok=true none=null');
  t.equal(formatFields({ reason: 'plugin failed to start' }), ' reason="plugin failed to start"', 'a string with spaces is quoted');
  t.equal(formatFields({ text: 'tab\there' }), ' text="tab\\there"', 'other whitespace is quoted and escaped');
  t.equal(formatFields({ obj: { a: 1, b: [1, 2] } }), ' obj={"a":1,"b":[1,2]}');
  t.equal(formatFields({ obj: { msg: 'two words' } }), ` obj=${JSON.stringify('{"msg":"two words"}')}`, 'JSON containing spaces is quoted as a whole');
  t.equal(formatFields({ skipped: undefined, kept: 1 }), ' kept=1');
  t.equal(formatFields({ empty: '' }), ' empty=');
});

t.test('fields JSON cannot express never make a log call throw', async (t) => {
  const circular: Record<string, unknown> = { name: 'loop' };
  circular.self = circular;
  t.equal(formatFields({ big: 10n }), ' big=10');
  t.equal(formatFields({ c: circular }), ' c="[object Object]"');
  const fn = function named() {};
  t.equal(formatFields({ fn }), ` fn=${JSON.stringify(String(fn))}`, 'a function is its source text, not "undefined"');
  t.equal(formatFields({ sym: Symbol('s') }), ' sym=Symbol(s)');
  const { log, lines } = capture();
  t.doesNotThrow(() => log.error('failed', { err: circular, n: 1n }));
  t.equal(lines.length, 1);
});

t.test('the default sink is stderr and the default clock is real', async (t) => {
  const written: string[] = [];
  const original = process.stderr.write;
  process.stderr.write = ((chunk: string) => {
    written.push(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    createLogger('x').info('to stderr');
  } finally {
    process.stderr.write = original;
  }
  t.equal(written.length, 1);
  t.match(written[0], /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z info {2}x: to stderr\n$/);
});

t.test('silentLogger drops everything, children included', async (t) => {
  t.doesNotThrow(() => {
    silentLogger.error('x', { a: 1 });
    silentLogger.child('c').child('d').info('y');
  });
  t.equal(silentLogger.child('c'), silentLogger);
});

t.test('journal mode: the sd-daemon(3) priority prefix instead of a timestamp, per level', async (t) => {
  const lines: string[] = [];
  const log = createLogger('openstarryd', { level: 'debug', journal: true, write: (l) => void lines.push(l), now: () => t.fail('no clock in journal mode') as never });
  log.debug('d');
  log.info('phase design done (12 ms)', { templates: 3 });
  log.warn('hot');
  log.child('boot').error('boom', { code: 'ERR_X' });
  t.same(lines, ['<7>debug openstarryd: d\n', '<6>info  openstarryd: phase design done (12 ms) templates=3\n', '<4>warn  openstarryd: hot\n', '<3>error openstarryd.boot: boom code=ERR_X\n']);
});

t.test('journal mode: every physical line of a multi-line message keeps its priority', async (t) => {
  const lines: string[] = [];
  const log = createLogger('openstarryd', { journal: true, write: (l) => void lines.push(l) });
  log.error('boot failed: a.yaml: x: bad\na.yaml: y: worse\r\n    at stack (file.js:1)');
  log.warn('nul\0split');
  t.same(lines, ['<3>error openstarryd: boot failed: a.yaml: x: bad\n<3>a.yaml: y: worse\n<3>    at stack (file.js:1)\n', '<4>warn  openstarryd: nul\n<4>split\n']);
  const plain: string[] = [];
  createLogger('x', { write: (l) => void plain.push(l), now: () => NOW }).info('two\nlines');
  t.same(plain, ['2026-11-21T08:00:00.000Z info  x: two\nlines\n'], 'outside the journal a message is written as it is');
});

t.test('an injected sink is never taken for the journal unless asked', async (t) => {
  const lines: string[] = [];
  const saved = process.env.JOURNAL_STREAM;
  process.env.JOURNAL_STREAM = '1:1';
  t.teardown(() => (saved === undefined ? delete process.env.JOURNAL_STREAM : (process.env.JOURNAL_STREAM = saved)));
  createLogger('x', { write: (l) => void lines.push(l), now: () => NOW }).info('m');
  t.same(lines, ['2026-11-21T08:00:00.000Z info  x: m\n']);
});
