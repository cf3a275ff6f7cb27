/**
 * Entry point of a worker-thread isolate: adapts `parentPort` to the channel and runs the agent host.
 * Loaded by the worker driver as dist/agent-host.js (bundle) or this file (from source, under a TS loader).
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import type { HostBootstrap } from '../host/agent-host.ts';
import { runAgentHost } from '../host/agent-host.ts';

if (!parentPort) throw new Error('worker-entry must run inside a worker thread');
const port = parentPort;
const exit = process.exit.bind(process);

const channelPort: IChannelPort = {
  post: (message: ChannelMessage, transfer?: readonly ArrayBuffer[]) => port.postMessage(message, transfer ? [...transfer] : undefined),
  onMessage: (handler) => {
    port.on('message', handler);
  },
  close: () => port.close(),
};

port.ref();
void runAgentHost({
  port: channelPort,
  bootstrap: workerData as HostBootstrap,
  keepAlive: { ref: () => port.ref(), unref: () => port.unref() },
  exit,
});
