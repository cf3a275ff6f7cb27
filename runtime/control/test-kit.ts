/**
 * Test helpers for the control plane (docs/ARCHITECTURE.md "Injection: clock, processes, file system"): a fake DaemonApi with canned
 * answers and a raw line client that speaks bytes, so tests can send what a real client never would.
 * Imported only by *.test.ts files.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { ManualClock } from '../manual-clock.ts';
import type { GuardOptions } from './connection-guard.ts';
import { ControlServer } from './control-server.ts';
import type { DaemonApi, DaemonStatus, DeployListResult, DeployResult, IAgentStatus, LogLine, ReloadReport, TemplatesResult, DeviceListEntry } from './protocol.ts';

export function agentStatus(over: Partial<IAgentStatus> = {}): IAgentStatus {
  return {
    pid: '1',
    agentId: 'thermostat',
    template: 'thermostat',
    isolation: 'worker',
    state: 'running',
    startedAt: '2024-01-01T00:00:00.000Z',
    restarts: 0,
    cpuPercent: 1.5,
    memoryBytes: 12 * 1024 * 1024,
    tokensUsed: 0,
    ...over,
  };
}

export function logLine(n: number, over: Partial<LogLine> = {}): LogLine {
  return { time: '2024-01-01T00:00:00.000Z', pid: '1', agentId: 'thermostat', level: 'info', message: `line ${n}`, ...over };
}

/** A DaemonApi whose behaviour tests steer by target names ("missing", "boom", "slow"). */
export class FakeDaemonApi implements DaemonApi {
  readonly listeners = new Set<(line: LogLine) => void>();
  agents: IAgentStatus[] = [agentStatus()];
  templates: TemplatesResult = { dir: '/t', templates: [], invalid: [] };
  statusValue: DaemonStatus | undefined;
  /** Released by tests to let a "slow" spawn finish. */
  releaseSlow: () => void = () => undefined;
  /** Set once a "slow" spawn is waiting for releaseSlow. */
  slowPending = false;

  async spawnAgent(target: string, options: { isolation?: string }): Promise<IAgentStatus> {
    if (target === 'missing') throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `no template "${target}"`, { details: { target } });
    if (target === 'boom') throw new Error('kaput');
    if (target === 'slow') {
      this.slowPending = true;
      await new Promise<void>((resolve) => (this.releaseSlow = resolve));
    }
    return agentStatus({ pid: '42', agentId: target, template: target, isolation: options.isolation ?? 'worker' });
  }

  async killAgent(pid: string, signal: string): Promise<IAgentStatus> {
    if (pid === '404') throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent with pid ${pid}`);
    return agentStatus({ pid, state: 'exited', reason: signal });
  }

  listAgents(): IAgentStatus[] {
    return this.agents;
  }

  devices: DeviceListEntry[] = [{ id: 'fan', kind: 'actuator', driver: 'relay', origin: 'board', state: 'ok', value: 'off' }];

  listDevices(): DeviceListEntry[] {
    return this.devices;
  }

  status(): DaemonStatus {
    if (this.statusValue === undefined) throw new OpenStarryError(ErrorCode.NOT_READY, 'not booted');
    return this.statusValue;
  }

  listTemplates(): TemplatesResult {
    return this.templates;
  }

  readLogs(target: string, lines: number): LogLine[] {
    if (target === 'nobody') throw new OpenStarryError(ErrorCode.AGENT_NOT_FOUND, `no agent "${target}"`);
    return Array.from({ length: Math.min(lines, 3) }, (_, i) => logLine(i));
  }

  followLogs(_target: string, listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Events passed to events.emit, in order. */
  events: { name: string; data: unknown }[] = [];

  emitEvent(name: string, data: unknown): { accepted: boolean; fired: number } {
    this.events.push({ name, data });
    return { accepted: true, fired: name === 'git:commit_pushed' ? 1 : 0 };
  }

  /** What reload() answers; tests set it. */
  reloadValue: ReloadReport = {
    at: '2024-01-01T00:00:00.000Z',
    trigger: 'control',
    ok: true,
    errors: [],
    rules: { file: '/etc/openstarry/orchestration.yaml', count: 2, replaced: true },
    templates: { valid: 3, added: ['new-one'], changed: [], removed: [], kept: [] },
  };

  async deploy(target: string): Promise<DeployResult> {
    return { outcome: { outcome: 'refused', templateId: target, version: '', reason: 'fake daemon' }, progress: [] };
  }

  async listDeployments(): Promise<DeployListResult> {
    return { templates: [] };
  }

  async rollbackDeployment(templateId: string): Promise<DeployResult> {
    return this.deploy(templateId);
  }

  async reload(): Promise<ReloadReport> {
    return this.reloadValue;
  }

  emit(line: LogLine): void {
    for (const l of this.listeners) l(line);
  }
}

/** A short private dir for sockets (sun_path is ~107 bytes, so not under .tap/fixtures). */
export async function socketDir(t: { teardown(fn: () => unknown): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'osd-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A real ControlServer on a private socket with a FakeDaemonApi and the guard's clock a ManualClock (no idle or request
 * timeout fires unless the test advances it); `open()` connects a LineClient once the server has accepted it.
 */
export async function clockedServer(t: { teardown(fn: () => unknown): void }, guard: Omit<GuardOptions, 'clock'> = {}) {
  const dir = await socketDir(t);
  const api = new FakeDaemonApi();
  const clock = new ManualClock();
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api, guard: { clock, ...guard } });
  t.teardown(() => server.close());
  const open = async () => {
    const c = await LineClient.connect(server.socketPath);
    t.teardown(() => c.close());
    await waitFor(() => server.connectionCount > 0, 'accepted');
    return c;
  };
  return { api, clock, server, open };
}

/** Polls a condition each few ms; for state the server changes asynchronously (a closed connection). */
export async function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Reads newline-delimited JSON from a raw socket; `next()` returns the next message in arrival order. */
export class LineClient {
  readonly socket: net.Socket;
  readonly ended: Promise<void>;
  readonly #messages: unknown[] = [];
  #waiter: (() => void) | undefined;
  #buffer = '';

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      this.#buffer += chunk;
      let nl: number;
      while ((nl = this.#buffer.indexOf('\n')) !== -1) {
        this.#messages.push(JSON.parse(this.#buffer.slice(0, nl)));
        this.#buffer = this.#buffer.slice(nl + 1);
      }
      this.#waiter?.();
    });
    socket.on('error', () => undefined);
    this.ended = new Promise((resolve) => socket.once('close', () => resolve()));
    void this.ended.then(() => this.#waiter?.());
  }

  static connect(socketPath: string): Promise<LineClient> {
    return new Promise((resolve, reject) => {
      const socket = net.createConnection(socketPath);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        resolve(new LineClient(socket));
      });
    });
  }

  send(text: string): void {
    this.socket.write(text);
  }

  request(id: string | number | null, method: string, params?: unknown): void {
    this.send(`${JSON.stringify(params === undefined ? { jsonrpc: '2.0', id, method } : { jsonrpc: '2.0', id, method, params })}\n`);
  }

  /** The next message; rejects if the connection closes first. */
  async next(): Promise<Record<string, unknown>> {
    while (this.#messages.length === 0) {
      if (this.socket.destroyed) throw new Error('connection closed with no message');
      await new Promise<void>((resolve) => (this.#waiter = resolve));
      this.#waiter = undefined;
    }
    return this.#messages.shift() as Record<string, unknown>;
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * A slow reader: `client` follows thermostat's new lines, stops reading, and the api emits `total` lines of ~1 KiB,
 * more than the socket buffers hold, so the server queues them (and drops past its bound).
 */
export async function floodPausedFollower(client: LineClient, api: FakeDaemonApi, total: number): Promise<void> {
  client.request(1, 'logs.follow', ['thermostat', { lines: 0 }]);
  const answer = await client.next();
  if (answer.id !== 1 || !Array.isArray(answer.result)) throw new Error(`logs.follow answered ${JSON.stringify(answer)}`);
  client.socket.pause();
  const padding = 'z'.repeat(1024);
  for (let i = 0; i < total; i++) api.emit(logLine(i, { message: `${i} ${padding}` }));
}
