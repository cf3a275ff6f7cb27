/**
 * Entry point of a worker-thread isolate: adapts `parentPort` to the channel and runs the agent host.
 * Loaded by the worker driver as dist/agent-host.cjs (bundle) or this file (from source, under a TS loader).
 *
 * Two ways in: a cold start carries the HostBootstrap in workerData; a warm spare (booted ahead of time so a
 * spawn skips the ~30-40 ms a worker thread takes to start) waits for one `{ t: 'bootstrap' }` message that
 * brings the bootstrap and the DI environment, then becomes that agent.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import type { HostBootstrap } from '../host/agent-host.ts';
import { realGetBuiltinModule, runAgentHost } from '../host/agent-host.ts';
import { prepareCuratedBuiltins } from '../host/module-policy.ts';
import type { SpareAssignment } from './spare-protocol.ts';
import { isSpareAssignment, SPARE_WAITING } from './spare-protocol.ts';

if (!parentPort) throw new Error('worker-entry must run inside a worker thread');
const port = parentPort;
// Captured before hardening: agent code later sees a process facade (host/isolate-hardening.ts), never this one.
const exit = process.exit.bind(process);

const channelPort: IChannelPort = {
  post: (message: ChannelMessage, transfer?: readonly ArrayBuffer[]) => port.postMessage(message, transfer ? [...transfer] : undefined),
  onMessage: (handler) => {
    port.on('message', handler);
  },
  close: () => port.close(),
};

// Curating the builtins loads node:crypto (a few ms): started now, a warm spare has it done before its assignment.
// runAgentHost awaits this same promise (and reports a failure as a crash) before any agent code runs.
const builtins = prepareCuratedBuiltins({ getBuiltinModule: realGetBuiltinModule() });
builtins.catch(() => undefined);

function run(bootstrap: HostBootstrap): void {
  void runAgentHost({ port: channelPort, bootstrap, keepAlive: { ref: () => port.ref(), unref: () => port.unref() }, exit, builtins });
}

port.ref();
if (workerData === SPARE_WAITING) {
  port.once('message', (message: unknown) => {
    if (!isSpareAssignment(message)) {
      exit(2);
      return;
    }
    const { bootstrap, env } = message as SpareAssignment;
    // The DI environment goes into the real process.env before runAgentHost hardens the isolate: the agent's
    // process.env facade is a frozen copy of the OPENSTARRY_* variables taken at that moment.
    for (const [k, v] of Object.entries(env)) if (typeof v === 'string') process.env[k] = v;
    run(bootstrap);
  });
} else {
  run(workerData as HostBootstrap);
}
