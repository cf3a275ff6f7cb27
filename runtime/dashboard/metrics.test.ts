// /metrics rendered from a fixed snapshot: every family issue 15 names is there with its labels, label values from
// configs and agent names are escaped, agents and devices that went are gone at the next scrape, and the real
// `promtool check metrics` (Debian `prometheus`) accepts the text.
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import { createMetricsRenderer } from './metrics.ts';
import type { MetricsSnapshot } from './metrics-snapshot.ts';

function fixedSnapshot(): MetricsSnapshot {
  return {
    build: { version: '0.1.0', node: 'v20.19.0', board: 'sim', deviceId: 'pi-1' },
    bootSeconds: 1.234,
    phases: [
      { phase: 'control', seconds: 0.004 },
      { phase: 'master', seconds: 0.31 },
    ],
    agents: [
      { agent: 'master', template: 'master', isolation: 'worker', state: 'running', cpuPercent: 12.5, memoryBytes: 7_340_032, tokensUsed: 42, restarts: 0, quarantined: false },
      { agent: 'we"ird\\name\nx', template: '/opt/t/manifest.json', isolation: 'process', state: 'crashed', cpuPercent: 0, memoryBytes: 0, tokensUsed: 0, restarts: 3, quarantined: true },
    ],
    hal: [
      { device: 'env0', operation: 'read', calls: 10, refused: {} },
      { device: 'fan', operation: 'control', calls: 4, refused: { ERR_RATE_LIMITED: 1, ERR_CAPABILITY_DENIED: 2 } },
    ],
    devices: [
      { device: 'env0', kind: 'sensor', ok: true, readings: { temperature: 21.5, humidity: 48 }, readAtSeconds: 1_767_225_601.5 },
      { device: 'fan', kind: 'actuator', ok: true },
      { device: 'env9', kind: 'sensor', ok: false },
    ],
    link: { connected: true, queued: 3, queueBytes: 120, dropped: { overflow: 1, expired: 0, 'qos0-offline': 2, rejected: 0, 'incoming-oversized': 0, 'incoming-malformed': 1 }, delivered: { out: 17, in: 5 } },
    rules: { eventsSeen: 99, dropped: { rate: 4, loop: 0 }, perRule: [{ rule: 'cool when hot', fired: 7 }] },
  };
}

function promtool(text: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile('promtool', ['check', 'metrics'], { timeout: 30_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: `${stdout}${stderr}` }));
    child.stdin?.end(text);
  });
}

t.test('every family of issue 15, with its labels and values', async (t) => {
  const r = await createMetricsRenderer({ startTimeSeconds: 1_700_000_000, rss: () => 50_000_000 });
  t.equal(r.contentType, 'text/plain; version=0.0.4; charset=utf-8');
  const text = await r.render(fixedSnapshot());
  const has = (line: string) => t.ok(text.split('\n').includes(line), line);
  has('openstarry_build_info{version="0.1.0",node="v20.19.0",board="sim",device_id="pi-1"} 1');
  has('openstarry_boot_duration_seconds 1.234');
  has('openstarry_boot_phase_duration_seconds{phase="master"} 0.31');
  has('process_resident_memory_bytes 50000000');
  has('process_start_time_seconds 1700000000');
  has('openstarry_agent_cpu_ratio{agent="master",template="master",isolation="worker"} 0.125');
  has('openstarry_agent_memory_bytes{agent="master",template="master",isolation="worker"} 7340032');
  has('openstarry_agent_tokens_total{agent="master",template="master",isolation="worker"} 42');
  has('openstarry_agent_restarts_total{agent="master",template="master",isolation="worker"} 0');
  has('openstarry_agent_state{agent="master",template="master",isolation="worker",state="running"} 1');
  has('openstarry_agent_state{agent="master",template="master",isolation="worker",state="crashed"} 0');
  // A quote, a backslash and a newline in an agent name stay inside their label value (exposition format escapes).
  has('openstarry_agent_restarts_total{agent="we\\"ird\\\\name\\nx",template="/opt/t/manifest.json",isolation="process"} 3');
  has('openstarry_agent_quarantined{agent="we\\"ird\\\\name\\nx",template="/opt/t/manifest.json",isolation="process"} 1');
  has('openstarry_hal_calls_total{device="env0",operation="read"} 10');
  has('openstarry_hal_refusals_total{device="fan",operation="control",reason="ERR_CAPABILITY_DENIED"} 2');
  has('openstarry_hal_refusals_total{device="fan",operation="control",reason="ERR_RATE_LIMITED"} 1');
  has('openstarry_sensor_value{device="env0",quantity="temperature"} 21.5');
  has('openstarry_sensor_value{device="env0",quantity="humidity"} 48');
  has('openstarry_sensor_read_timestamp_seconds{device="env0"} 1767225601.5');
  has('openstarry_device_up{device="env9",kind="sensor"} 0');
  has('openstarry_mqtt_connected 1');
  has('openstarry_mqtt_queue_messages 3');
  has('openstarry_mqtt_queue_bytes 120');
  has('openstarry_mqtt_dropped_total{reason="qos0-offline"} 2');
  has('openstarry_mqtt_delivered_total{direction="out"} 17');
  has('openstarry_mqtt_delivered_total{direction="in"} 5');
  has('openstarry_events_seen_total 99');
  has('openstarry_events_dropped_total{reason="rate"} 4');
  has('openstarry_rule_fires_total{rule="cool when hot"} 7');
  t.notMatch(text, /nodejs_|process_cpu/, 'no default collectors: the registry holds only ours');
  t.equal(text.match(/^# TYPE /gm)?.length, 24, 'exactly our 24 families');
});

t.test('a scrape shows only what the snapshot holds now', async (t) => {
  const r = await createMetricsRenderer({ startTimeSeconds: 1, rss: () => 1 });
  await r.render(fixedSnapshot());
  const next = { ...fixedSnapshot(), agents: [], devices: [], link: undefined, rules: undefined, bootSeconds: undefined } as MetricsSnapshot;
  const [a, b] = await Promise.all([r.render(next), r.render(fixedSnapshot())]);
  t.notMatch(a, /agent="master"/, 'an agent that went is gone');
  t.notMatch(a, /openstarry_sensor_value\{/, 'a device that went is gone');
  t.match(a, /^openstarry_mqtt_connected 0$/m, 'no link: not connected');
  t.match(a, /^openstarry_boot_duration_seconds 0$/m, 'booting: 0');
  t.match(b, /agent="master"/, 'concurrent scrapes each render their own snapshot');
});

t.test('promtool check metrics accepts the text', async (t) => {
  if (!requireTool(t, 'promtool', 'prometheus')) return;
  const r = await createMetricsRenderer({ startTimeSeconds: 1_700_000_000, rss: () => 50_000_000 });
  const result = await promtool(await r.render(fixedSnapshot()));
  t.equal(result.code, 0, `promtool: ${result.out}`);
  t.equal(result.out.trim(), '', 'no lint findings');
  const bad = await promtool('# TYPE x_total counter\nx_total{a="1"} 1\nx_total{a="1"} 2\n');
  t.not(bad.code, 0, 'promtool does fail on a broken exposition (the check can fail)');
});

t.test('the first scrape loads no builtin the daemon avoids (prom-client-modules.d.ts: no https, zlib, cluster)', async (t) => {
  // A fresh process: the builtins Node loads from the renderer's import to the end of its first render.
  const script = `const before = new Set(process.moduleLoadList);
const { createMetricsRenderer } = await import(${JSON.stringify(fileURLToPath(new URL('./metrics.ts', import.meta.url)))});
const r = await createMetricsRenderer({ startTimeSeconds: 1, rss: () => 1 });
await r.render({ build: { version: '0', node: 'v', board: 's', deviceId: 'd' }, phases: [], agents: [], hal: [], devices: [] });
console.log(JSON.stringify(process.moduleLoadList.filter((m) => !before.has(m) && m.startsWith('NativeModule '))));`;
  const out = await new Promise<string>((resolve, reject) =>
    execFile(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000 }, (err, stdout) => (err ? reject(err) : resolve(stdout))),
  );
  const loaded = JSON.parse(out) as string[];
  t.same(loaded.filter((m) => /\b(https|http2|tls|zlib|cluster|perf_hooks|url)\b/.test(m)), [], `builtins loaded: ${loaded.join(', ') || 'none'}`);
});
