// GET /metrics on the real daemon (dist/, issue 15): after an agent read env0 through the HAL, the scrape lists the
// master agent, env0's temperature and the HAL call that read it, the embedded broker's link and the boot; the real
// `promtool check metrics` accepts it.
import { execFile } from 'node:child_process';
import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { DaemonStatus, DeviceListEntry } from '../control/protocol.ts';
import { halProbe } from './hal-probe.ts';
import { startDaemon, templatesWithConfig, tempDir } from './harness.ts';

async function scrape(listen: string): Promise<{ status: number; type: string; body: string }> {
  const res = await fetch(`http://${listen}/metrics`);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
}

t.test('the real daemon serves /metrics: master, env0 temperature, HAL calls, link, boot; promtool accepts it', async (t) => {
  const dir = tempDir(t);
  const { config } = templatesWithConfig(dir, { 'probe-worker': halProbe('worker') });
  const d = await startDaemon(t, { args: ['--config', config] });
  const listen = (await d.json<DaemonStatus>('status')).dashboard?.listen ?? '';
  t.match(listen, /^127\.0\.0\.1:\d+$/);
  t.equal((await d.cli('spawn', 'probe-worker')).code, 0);
  await d.waitFor('env0 to have a temperature', async () => {
    const devices = await d.json<DeviceListEntry[]>('devices');
    return typeof (devices.find((x) => x.id === 'env0')?.value as { temperature?: unknown } | undefined)?.temperature === 'number';
  });
  const r = await scrape(listen);
  t.equal(r.status, 200);
  t.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
  t.match(r.body, /^openstarry_agent_state\{agent="master",template="master",isolation="worker",state="running"\} 1$/m, 'the master agent');
  t.match(r.body, /^openstarry_agent_memory_bytes\{agent="master",template="master",isolation="worker"\} [1-9]\d*$/m);
  t.match(r.body, /^openstarry_sensor_value\{device="env0",quantity="temperature"\} -?\d+(\.\d+)?(e[-+]?\d+)?$/m, "env0's temperature");
  const readAt = Number(/^openstarry_sensor_read_timestamp_seconds\{device="env0"\} (\S+)$/m.exec(r.body)?.[1]);
  t.ok(readAt > Date.now() / 1000 - 600 && readAt <= Date.now() / 1000, `env0 was read within the last 10 minutes (${readAt})`);
  t.match(r.body, /^openstarry_hal_calls_total\{device="env0",operation="read"\} [1-9]\d*$/m, "the probe's read, counted");
  t.match(r.body, /^openstarry_mqtt_connected 1$/m, 'the link to the embedded broker');
  t.match(r.body, /^openstarry_boot_duration_seconds (0\.\d*[1-9]\d*|[1-9][\d.]*)$/m, 'the boot took a measurable time');
  t.match(r.body, /^openstarry_build_info\{version="0\.1\.0",node="v\d+\.\d+\.\d+",board="sim",device_id="[^"]+"\} 1$/m);

  const status = await d.json<DaemonStatus>('status');
  t.match(status.hal?.calls, [{ device: 'env0', operation: 'read' }], 'the same counters in status --json');

  if (!requireTool(t, 'promtool', 'prometheus')) return;
  const check = await new Promise<{ code: number; out: string }>((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? 1 : 0, out: `${stdout}${stderr}` }));
    child.stdin?.end(r.body);
  });
  t.equal(check.code, 0, `promtool: ${check.out}`);
  t.equal(check.out.trim(), '', 'no lint findings');
});
