// Test support for the supervisor: a scripted isolation driver and a manual clock. The fake isolate speaks the
// real channel protocol (ChannelEndpoint on both ends), so the supervisor code under test is unchanged.
import { ChannelEndpoint } from '../core/channel-endpoint.ts';
import type { DaemonChannel, DaemonSide, IsolateChannel, IsolateSide } from '../core/channel-methods.ts';
import { inMemoryChannelPair } from '../core/in-memory-channel.ts';
import { ErrorCode } from '../core/errors.ts';
import type { IIsolate, IIsolationDriver, IsolateExit, IsolateOutput, IsolateSpec, IsolateUsage } from '../isolation/isolation-driver.ts';

/** `never-start`: start() never resolves (no `running` note) and agent.stop is never answered. */
export type AgentScript = 'run' | 'crash-on-start' | 'ignore-stop' | 'exit-clean' | 'never-start';

export class FakeIsolate implements IIsolate {
  readonly channel: DaemonChannel;
  readonly agent: IsolateChannel;
  readonly exited: Promise<IsolateExit>;
  readonly spec: IsolateSpec;
  terminated = false;
  /** What usage() answers; tests change it to drive the memory and CPU limits. */
  nextUsage: IsolateUsage = { cpuPercent: 1.5, memoryBytes: 1234 };
  #end!: (exit: IsolateExit) => void;

  constructor(spec: IsolateSpec, script: AgentScript) {
    this.spec = spec;
    const [daemonSide, agentSide] = inMemoryChannelPair();
    this.channel = new ChannelEndpoint<DaemonSide>(daemonSide);
    this.agent = new ChannelEndpoint<IsolateSide>(agentSide);
    this.exited = new Promise((resolve) => (this.#end = resolve));
    this.agent.handle('agent.stop', () => {
      if (script === 'ignore-stop' || script === 'never-start') return new Promise(() => undefined);
      setImmediate(() => this.end({ code: 0, cause: 'exit' }));
      return undefined;
    });
    queueMicrotask(() => {
      if (script === 'never-start') return;
      if (script === 'crash-on-start') {
        this.agent.notify('lifecycle', { state: 'crashed', error: { code: ErrorCode.PLUGIN_START_FAILED, message: 'plugin "x" failed to start: nope' } });
        setImmediate(() => this.end({ code: 1, cause: 'exit' }));
      } else {
        this.agent.notify('lifecycle', { state: 'running' });
        if (script === 'exit-clean') setImmediate(() => this.end({ code: 0, cause: 'exit' }));
      }
    });
  }

  /** Ends the isolate as if it had exited/crashed by itself. */
  end(exit: IsolateExit): void {
    this.channel.close('isolate exited');
    this.#end(exit);
  }

  async terminate(): Promise<void> {
    this.terminated = true;
    this.end({ code: 1, cause: 'exit' });
    await this.exited;
  }

  async usage(): Promise<IsolateUsage> {
    return { ...this.nextUsage };
  }

  onOutput(_listener: (o: IsolateOutput) => void): void {}
}

export class FakeDriver implements IIsolationDriver {
  readonly name = 'worker' as const;
  /** Set to act like a driver that throttles CPU itself (docker). */
  enforcesCpuLimit = false;
  /** Usage every new isolate starts with. */
  usage: IsolateUsage = { cpuPercent: 1.5, memoryBytes: 1234 };
  readonly started: FakeIsolate[] = [];
  /** Scripts handed out in order; the last one repeats. */
  scripts: AgentScript[] = ['run'];

  async start(spec: IsolateSpec): Promise<IIsolate> {
    const script = this.scripts.length > 1 ? (this.scripts.shift() as AgentScript) : (this.scripts[0] ?? 'run');
    const isolate = new FakeIsolate(spec, script);
    isolate.nextUsage = { ...this.usage };
    this.started.push(isolate);
    return isolate;
  }
}

export { ManualClock } from '../manual-clock.ts';
