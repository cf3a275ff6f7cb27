// bench/results.json's rows: numbers from a row's own fields, else read from its printed strings; met as a
// boolean or null; the CPU model read from /proc/cpuinfo on x86 and arm64; the file written where asked.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t from 'tap';
import { cpuModel, resultRow, writeResults } from './bench-results.ts';
import { measuredRow, skippedRow } from './bench-table.ts';

t.test('a measured row keeps its numbers; the target and met are computed from them', async (t) => {
  const row = measuredRow({ metric: 'idle RSS', value: 60, unit: 'MB', baseline: 50, target: { on: 'ratio', atMost: 1.25 } });
  t.match(row, { ours: '60.0 MB', base: '50.0 MB', ratio: '1.20x', target: '<= 1.25x', met: 'yes' });
  t.same(resultRow(row), { metric: 'idle RSS', value: 60, unit: 'MB', baseline: 50, ratio: 1.2, target: '<= 1.25x', met: true, text: { ours: '60.0 MB', base: '50.0 MB', ratio: '1.20x', target: '<= 1.25x', met: 'yes' } });
  t.match(measuredRow({ metric: 'cpu', value: 0.7, unit: '%', target: { on: 'value', atMost: 0.5 } }), { ours: '0.7 %', ratio: '-', target: '<= 0.5 %', met: 'NO' });
  t.match(measuredRow({ metric: 'qemu', value: 3.5, unit: 's', target: { on: 'value', atMost: 4 } }), { target: '<= 4 s', met: 'yes' });
  t.match(measuredRow({ metric: 'rate', value: 0.95, unit: 'x', baseline: 1, target: { on: 'ratio', atLeast: 0.9 } }), { target: '>= 0.9x', met: 'yes' });
  t.match(measuredRow({ metric: 'node-red', value: 80, unit: 'MB', baseline: 50, target: 'reported' }), { target: 'reported', met: '-' });
  t.equal(resultRow(measuredRow({ metric: 'nan', value: Number.NaN, unit: 'ms', target: { on: 'value', atMost: 1 } })).met, false);
});

t.test('a row of strings only: numbers read from them where they are plain', async (t) => {
  t.match(resultRow({ metric: 'boot', ours: '290.12 ms', base: '48.00 ms', ratio: '6.04x', target: '<= 3x', met: 'NO' }), { value: 290.12, unit: 'ms', baseline: 48, ratio: 6.04, met: false });
  t.match(resultRow({ metric: 'spawn', ours: '12.00 ms', base: '8.00 ms (worker)', ratio: '1.5x', target: '-', met: 'yes (10)' }), { value: 12, unit: 'ms', baseline: 8, ratio: 1.5, met: true });
  t.match(resultRow({ metric: 'q', ours: '1.00 ms', base: '2.0 KiB', ratio: '2x less', target: '-', met: '-' }), { value: 1, baseline: null, ratio: null, met: null });
  t.match(resultRow(skippedRow('qemu boot', 'qemu-aarch64-static is not installed')), { value: null, unit: null, ratio: null, met: null, text: { ours: 'skipped: qemu-aarch64-static is not installed' } });
});

t.test('the CPU model from /proc/cpuinfo', async (t) => {
  t.equal(cpuModel('processor\t: 0\nvendor_id\t: GenuineIntel\nmodel name\t: Intel(R) Xeon(R) CPU @ 2.20GHz\n'), 'Intel(R) Xeon(R) CPU @ 2.20GHz');
  t.equal(cpuModel('processor\t: 0\nBogoMIPS\t: 108.00\n\nHardware\t: BCM2835\nModel\t\t: Raspberry Pi Zero 2 W Rev 1.0\n'), 'Raspberry Pi Zero 2 W Rev 1.0');
  t.equal(cpuModel(''), undefined);
});

t.test('the file: its folder created, date, node, machine and rows', async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), 'bench-results-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'bench', 'results.json');
  await writeResults(file, [measuredRow({ metric: 'm', value: 1, unit: 'ms', target: 'reported' })], ['lean'], new Date('2026-12-05T20:00:00Z'));
  const json = JSON.parse(await readFile(file, 'utf8'));
  t.match(json, { date: '2026-12-05T20:00:00.000Z', node: process.version, args: ['lean'], rows: [{ metric: 'm', value: 1 }] });
  t.ok(json.machine.cores >= 1 && json.machine.memoryBytes > 0 && json.machine.cpu.length > 0);
});
