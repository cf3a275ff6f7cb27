// End to end: agents reaching hardware through the HAL of the real daemon on the sim board — sensor reads,
// denials, actuator safe state after SIGKILL, a serial round trip through a real pty, camera frames (the sim
// camera and a real ffmpeg stream) delivered to an agent.
import path from 'node:path';
import { SerialPort } from 'serialport';
import t from 'tap';
import type { Test } from 'tap';
import type { DeviceListEntry, IAgentStatus, LogLine } from '../control/protocol.ts';
import { startPtyPair } from '../../drivers/serial/pty-pair.ts';
import { requireTool } from '../../scripts/testing/system-deps.ts';
import type { RunningDaemon } from './harness.ts';
import { agentFixture, startDaemon, tempDir, writeTree } from './harness.ts';

/** Writes an agent whose plugin body is `body` (it may use ctx and `report(obj)`), spawns it, returns its status. */
async function spawnAgent(t: Test, d: RunningDaemon, id: string, capabilities: string[], body: string): Promise<IAgentStatus> {
  const dir = tempDir(t);
  writeTree(path.join(dir, id), agentFixture({ id, plugins: ['./main.js'], capabilities }, {
    'main.js': `export default { name: '${id}', async start(ctx) {
      const report = (o) => ctx.log.info('REPORT ' + JSON.stringify(o));
      const attempt = async (f) => { try { return { ok: await f() }; } catch (e) { return { code: e.code, message: e.message }; } };
      this.keep = setInterval(() => {}, 60000);
      ${body}
    }, stop() { clearInterval(this.keep); } };`,
  }));
  const r = await d.cli('spawn', path.join(dir, id, 'agent.json'), '--json');
  if (r.code !== 0) throw new Error(`spawn ${id} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as IAgentStatus;
}

async function reports(d: RunningDaemon, pid: string, count: number): Promise<unknown[]> {
  let found: unknown[] = [];
  await d.waitFor(`${count} reports from pid ${pid}`, async () => {
    const lines = await d.jsonLines<LogLine>('logs', pid, '-n', '1000');
    found = lines.filter((l) => l.message.startsWith('REPORT ')).map((l) => JSON.parse(l.message.slice(7)) as unknown);
    return found.length >= count;
  });
  return found;
}

t.test('a granted sensor read is plausible; an ungranted actuator call is denied and never reaches the relay', async (t) => {
  const d = await startDaemon(t);
  const a = await spawnAgent(t, d, 'thermo', ['sensor:env0:read'], `
    report({ temperature: await attempt(() => ctx.hal.getSensorData('env0.temperature')) });
    report({ humidity: await attempt(() => ctx.hal.getSensorData('humidity')) });
    report({ pressure: await attempt(() => ctx.hal.getSensorData('env0.pressure')) });
    report({ fan: await attempt(() => ctx.hal.controlActuator('fan', 'on')) });
  `);
  const [temp, hum, press, fan] = (await reports(d, a.pid, 4)) as [{ temperature: { ok: number } }, { humidity: { ok: number } }, { pressure: { ok: number } }, { fan: { code: string; message: string } }];
  t.ok(temp.temperature.ok > 10 && temp.temperature.ok < 35, `temperature ${temp.temperature.ok} °C is plausible`);
  t.ok(hum.humidity.ok > 20 && hum.humidity.ok < 80, `humidity ${hum.humidity.ok} %RH`);
  t.ok(press.pressure.ok > 950 && press.pressure.ok < 1060, `pressure ${press.pressure.ok} hPa`);
  t.match(fan.fan, { code: 'ERR_CAPABILITY_DENIED', message: /actuator:fan:control/ });
  const devices = await d.json<DeviceListEntry[]>('devices');
  t.match(devices.find((x) => x.id === 'fan'), { value: 'off', state: 'ok' }, 'the fan never turned on');
  t.notOk(devices.find((x) => x.id === 'fan')?.owner, 'and nobody owns it');
  t.match(devices.find((x) => x.id === 'env0')?.value, { temperature: Number });
  t.match(d.log(), /denied: agent thermo \(pid \d+\) controlActuator\(fan\) without actuator:fan:control/);
  const spawnBad = await d.cli('spawn', path.join(tempDir(t), 'none.json'));
  t.equal(spawnBad.code, 1);
});

t.test('a capability naming an unknown device fails the spawn with ERR_CAPABILITY_INVALID', async (t) => {
  const d = await startDaemon(t);
  const dir = tempDir(t);
  writeTree(path.join(dir, 'typo'), agentFixture({ id: 'typo', plugins: ['./main.js'], capabilities: ['sensor:env9:read'] }, { 'main.js': "export default { name: 'x', start() {} };" }));
  const r = await d.cli('spawn', path.join(dir, 'typo', 'agent.json'));
  t.equal(r.code, 1);
  t.match(r.stderr, /no sensor "env9"/);
});

t.test('an actuator returns to its safe state when its owner is killed with SIGKILL; a second claimant is refused', async (t) => {
  const d = await startDaemon(t);
  const owner = await spawnAgent(t, d, 'climate', ['actuator:fan:control'], `report({ on: await attempt(() => ctx.hal.controlActuator('fan', 'on')) });`);
  await reports(d, owner.pid, 1);
  t.match((await d.json<DeviceListEntry[]>('devices')).find((x) => x.id === 'fan'), { value: 'on', owner: { pid: owner.pid, agentId: 'climate' } });
  const table = await d.cli('devices');
  t.match(table.stdout, /fan\s+actuator\s+relay\s+on\s+climate\[\d+\]/);

  const dir = tempDir(t);
  writeTree(path.join(dir, 'rival'), agentFixture({ id: 'rival', plugins: ['./main.js'], capabilities: ['actuator:fan:control'] }, { 'main.js': "export default { name: 'x', start() {} };" }));
  const rival = await d.cli('spawn', path.join(dir, 'rival', 'agent.json'));
  t.equal(rival.code, 1);
  t.match(rival.stderr, /actuator "fan" is owned by agent climate/);

  t.equal((await d.cli('kill', owner.pid, '--signal', 'SIGKILL')).code, 0);
  const fan = (await d.json<DeviceListEntry[]>('devices')).find((x) => x.id === 'fan');
  t.equal(fan?.value, 'off', 'safe state as soon as kill returns');
  t.notOk(fan?.owner);
  t.match(d.log(), /actuator fan -> off \(safe state: agent climate pid \d+ ended\)/);
});

t.test('serial round trip through a real pty; the port is exclusive', async (t) => {
  if (!requireTool(t, 'socat', 'socat')) return;
  const pty = await startPtyPair();
  t.teardown(() => pty.close());
  const dir = tempDir(t);
  writeTree(dir, { 'openstarry.yaml': `devices:\n  - id: modem\n    driver: serial\n    port: ${pty.a}\n    baudRate: 115200\n` });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'openstarry.yaml')] });
  // The test plays the modem on the far end of the pty (a plain SerialPort): answer "OK <what was asked>".
  const modem = new SerialPort({ path: pty.b, baudRate: 115200, autoOpen: false });
  await new Promise<void>((resolve, reject) => modem.open((err) => (err ? reject(err) : resolve())));
  modem.on('data', (chunk: Buffer) => modem.write(`OK ${chunk.toString().trim()}\r\n`));
  t.teardown(() => new Promise<void>((resolve) => (modem.isOpen ? modem.close(() => resolve()) : resolve())));
  const a = await spawnAgent(t, d, 'modem-user', ['serial:modem:open'], `
    const port = await ctx.hal.openSerial('modem');
    const writer = port.writable.getWriter();
    await writer.write(new TextEncoder().encode('AT+CSQ\\r'));
    const reader = port.readable.getReader();
    let text = '';
    while (!text.includes('\\n')) { const { value } = await reader.read(); text += new TextDecoder().decode(value); }
    report({ reply: text.trim() });
    report({ busy: await attempt(() => ctx.hal.openSerial('modem')) });
  `);
  const [reply, busy] = (await reports(d, a.pid, 2)) as [{ reply: string }, { busy: { code: string } }];
  t.equal(reply.reply, 'OK AT+CSQ', 'bytes went out through the real serialport binding and came back');
  t.equal(busy.busy.code, 'ERR_DEVICE_BUSY');
  t.match((await d.json<DeviceListEntry[]>('devices')).find((x) => x.id === 'modem'), { kind: 'serial', owner: { agentId: 'modem-user' } });
});

t.test('camera frames reach an agent: the sim camera, and a real MJPEG stream from ffmpeg', async (t) => {
  if (!requireTool(t, 'ffmpeg', 'ffmpeg')) return;
  const dir = tempDir(t);
  const ffmpeg = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=15', '-f', 'mjpeg', '-q:v', '5', '-'];
  writeTree(dir, { 'openstarry.yaml': `devices:\n  - id: cam1\n    driver: camera\n    device: TEST\n    width: 160\n    height: 120\n    fps: 15\n    streamCommand: ${JSON.stringify(ffmpeg)}\n` });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'openstarry.yaml')] });
  const a = await spawnAgent(t, d, 'watcher', ['camera:cam0:stream', 'camera:cam1:stream'], `
    for (const cam of ['cam0', 'cam1']) {
      const reader = ctx.hal.getCameraStream(cam).getReader();
      const frames = [];
      for (let i = 0; i < 5; i++) { const { value } = await reader.read(); frames.push({ bytes: value.length, soi: value[0] === 0xff && value[1] === 0xd8, eoi: value[value.length - 2] === 0xff && value[value.length - 1] === 0xd9 }); }
      await reader.cancel();
      report({ cam, frames });
    }
  `);
  const got = (await reports(d, a.pid, 2)) as { cam: string; frames: { bytes: number; soi: boolean; eoi: boolean }[] }[];
  for (const r of got) {
    t.equal(r.frames.length, 5, `${r.cam}: five frames`);
    t.ok(r.frames.every((f) => f.soi && f.eoi && f.bytes > 500), `${r.cam}: each a complete JPEG`);
  }
});

t.test('watch delivers the PIR\'s debounced edges to an agent', async (t) => {
  const dir = tempDir(t);
  // Replace the sim board's default pir with a busier simulated sensor (motion about every 0.3 s).
  writeTree(dir, { 'openstarry.yaml': 'devices:\n  - { id: pir, driver: pir, pin: 13, debounceMs: 20, simulation: { meanIntervalMs: 300, holdMs: [200, 400] } }\n' });
  const d = await startDaemon(t, { args: ['--config', path.join(dir, 'openstarry.yaml')] });
  const a = await spawnAgent(t, d, 'motion', ['gpio:pir:watch'], `
    const edges = [];
    await new Promise((resolve) => { const stop = ctx.hal.watch('pir', (e) => { edges.push(e); if (edges.length === 4) { stop(); resolve(); } }); });
    report({ edges: edges.map((e) => e.edge + ':' + e.value) });
    report({ denied: await attempt(() => new Promise((res, rej) => { ctx.hal.watch('fan', () => {}); setTimeout(res, 300); })) });
  `);
  const [got] = (await reports(d, a.pid, 1)) as [{ edges: string[] }];
  // The watch starts wherever the simulated sensor is: held high (motion) or low, so the first edge may be either.
  const first = got.edges[0] === 'falling:0' ? 1 : 0;
  const alternating = ['rising:1', 'falling:0', 'rising:1', 'falling:0', 'rising:1'].slice(first, first + 4);
  t.same(got.edges, alternating, 'debounced edges alternate (contact bounce filtered)');
  await d.waitFor('the denied watch to be logged', async () => /watch\(fan\) failed: ERR_CAPABILITY_DENIED/.test((await d.cli('logs', a.pid)).stdout));
});
