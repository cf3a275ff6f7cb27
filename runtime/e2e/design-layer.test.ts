// The remote design layer for real: `openstarry design-layer serve` as its own process, the daemon configured with
// templates.url, and the service edited, broken, stopped mid-run and down at boot (spec 002 phase 2 and its
// degraded-start rule).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import type { DaemonStatus, IAgentStatus, TemplatesResult } from '../control/protocol.ts';
import type { RunningDaemon } from './harness.ts';
import { CLI, agentFixture, startDaemon, tempDir, templatesWithConfig, writeTree } from './harness.ts';

interface Service {
  url: string;
  stop(): Promise<void>;
}

/** Starts the shipped service command; `port` 0 picks one (read back from its first line). */
async function serve(t: Test, dir: string, port = 0): Promise<Service> {
  const child: ChildProcess = spawn(process.execPath, [CLI, 'design-layer', 'serve', '--dir', dir, '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  t.teardown(stop);
  let out = '';
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const m = / on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then(() => reject(new Error(`design-layer serve exited: ${err}`)));
  });
  return { url, stop };
}

const worker = (marker: string) =>
  agentFixture({ id: 'remote-worker', description: 'served by the design layer', plugins: ['./main.js'] }, {
    'main.js': `export default { name: 'w', start(ctx) { ctx.log.info(${JSON.stringify(marker)}); this.t = setInterval(() => {}, 60000); }, stop() { clearInterval(this.t); } };\n`,
  });

function configure(dir: string, url: string): string {
  const { config } = templatesWithConfig(dir);
  writeFileSync(config, `templates:\n  dir: ./templates\n  url: ${url}\n  timeoutMs: 1000\nagents:\n  stopGraceMs: 2000\n`);
  return config;
}

async function spawnWorker(d: RunningDaemon): Promise<IAgentStatus> {
  const s = await d.json<IAgentStatus>('spawn', 'remote-worker');
  await d.waitFor('the worker to run', async () => (await d.json<IAgentStatus[]>('ps')).some((a) => a.pid === s.pid && a.state === 'running'));
  return s;
}

async function logsOf(d: RunningDaemon, pid: string): Promise<string> {
  return (await d.cli('logs', pid)).stdout;
}

t.test('templates from the service: synced, changed, rejected, stopped mid-run and down at boot', async (t) => {
  const dir = tempDir(t);
  const serviceDir = path.join(dir, 'service');
  writeTree(serviceDir, { 'remote-worker': worker('worker v1') });
  let service = await serve(t, serviceDir);
  const port = Number(new URL(service.url).port);
  const config = configure(dir, service.url);

  let d = await startDaemon(t, { dir, args: ['--config', config] });
  const listed = await d.json<TemplatesResult>('templates');
  t.match(listed.remote, { url: service.url, state: 'synced', templates: 1 });
  t.match(listed.templates.find((x) => x.id === 'remote-worker'), { source: 'remote', version: '1.0.0', path: path.join(d.home, 'design-cache', 'templates', 'remote-worker', 'agent.json') });
  t.match(listed.templates.find((x) => x.id === 'master'), { source: 'local' });
  t.match((await d.cli('templates')).stdout, `design layer ${service.url}: synced`);

  const first = await spawnWorker(d);
  await d.waitFor('v1 marker', async () => (await logsOf(d, first.pid)).includes('worker v1'));

  // Changed on the service: the running agent keeps its blueprint; the next spawn runs the new one.
  writeTree(serviceDir, { 'remote-worker': worker('worker v2') });
  t.equal((await d.cli('spawn', 'remote-worker')).code, 1, 'one live instance per id');
  t.notMatch(await logsOf(d, first.pid), 'worker v2');
  await d.cli('kill', first.pid);
  const second = await spawnWorker(d);
  await d.waitFor('v2 marker', async () => (await logsOf(d, second.pid)).includes('worker v2'));

  // Broken on the service: rejected with the URL and field; the cached good version (v2) is what runs.
  writeTree(serviceDir, { 'remote-worker': { 'agent.json': JSON.stringify({ id: 'remote-worker', version: '3.0.0', plugins: ['./missing.js'] }) } });
  await d.cli('kill', second.pid);
  const third = await spawnWorker(d);
  await d.waitFor('v2 marker again', async () => (await logsOf(d, third.pid)).includes('worker v2'));
  const afterBad = await d.json<TemplatesResult>('templates');
  t.ok(afterBad.invalid.some((i) => i.file === `${service.url}/templates/remote-worker` && /plugins\.0/.test(i.error)), 'the rejection names the URL and the field');
  writeTree(serviceDir, { 'remote-worker': worker('worker v2') });

  // Stopped mid-run: spawns come from the cache and status says degraded.
  await service.stop();
  await d.cli('kill', third.pid);
  const fourth = await spawnWorker(d);
  await d.waitFor('v2 from the cache', async () => (await logsOf(d, fourth.pid)).includes('worker v2'));
  const degraded = await d.json<DaemonStatus>('status');
  t.ok(degraded.degraded.includes('design-layer-unreachable'), `status degraded: ${degraded.degraded.join(', ')}`);
  t.match(degraded.templates.remote, { state: 'unreachable' });
  t.match((await d.cli('status')).stdout, 'from the cache');

  // Down at boot: the daemon boots from the cache, says so, and the cached template spawns.
  d.child.kill('SIGTERM');
  t.equal(await d.exited, 0);
  d = await startDaemon(t, { dir, args: ['--config', config] });
  const booted = await d.json<DaemonStatus>('status');
  t.equal(booted.state, 'ready');
  t.ok(booted.degraded.includes('design-layer-unreachable'));
  t.match(booted.phases.find((p) => p.name === 'design'), { state: 'degraded', detail: /unreachable, 1 from the cache/ });
  t.match((await d.json<TemplatesResult>('templates')).templates.find((x) => x.id === 'remote-worker'), { source: 'cache' });
  const fifth = await spawnWorker(d);
  await d.waitFor('v2 after a boot from the cache', async () => (await logsOf(d, fifth.pid)).includes('worker v2'));

  // The service comes back: the next spawn talks to it and the degraded flag clears.
  service = await serve(t, serviceDir, port);
  writeTree(serviceDir, { 'remote-worker': worker('worker v4') });
  await d.cli('kill', fifth.pid);
  const sixth = await spawnWorker(d);
  await d.waitFor('v4 once the service is back', async () => (await logsOf(d, sixth.pid)).includes('worker v4'));
  t.notOk((await d.json<DaemonStatus>('status')).degraded.includes('design-layer-unreachable'));
});
