/**
 * Entry point of a process isolate (process-driver.ts): a child Node process, run under Node's permission model,
 * that adapts its IPC channel to the isolate channel and runs the same agent host as a worker
 * (host/agent-host.ts: module sandbox, hardened `process`, AgentCore). Always run as one bundled file
 * (dist/agent-process.mjs, or the same bundle built on the fly from source): the permission model then only has to
 * grant read access to that one file.
 *
 * Protocol on top of the channel, between the driver and this entry only (neither is a ChannelMessage):
 *   daemon -> child, first message   { t: 'bootstrap', bootstrap: HostBootstrap }
 *   child -> daemon, before dying    { t: 'fatal', error: WireError }   (uncaught exception / unhandled rejection)
 * The daemon's end of the IPC going away (daemon killed) ends the child: an agent never outlives its daemon.
 */
import type { ChannelMessage, IChannelPort } from '../../core/channel-messages.ts';
import { errorToWire } from '../../core/errors.ts';
import type { HostBootstrap } from '../host/agent-host.ts';
import { realGetBuiltinModule, runAgentHost } from '../host/agent-host.ts';
import { prepareCuratedBuiltins } from '../host/module-policy.ts';

/** Longest the child waits for queued IPC messages (the last lifecycle note, a fatal report) before it exits. */
const FLUSH_DEADLINE_MS = 2000;

// Everything the host needs from the real process is captured before hardening replaces globalThis.process.
const realSend = process.send?.bind(process);
const ipc = process.channel;
const realExit = process.exit.bind(process);
if (!realSend || !ipc) {
  process.stderr.write('agent-process: started without an IPC channel; the process driver starts this file\n');
  realExit(2);
}
const send = realSend as NonNullable<typeof realSend>;
const channel = ipc as NonNullable<typeof ipc>;

let unsent = 0;
let drained: (() => void) | undefined;
function post(message: unknown): void {
  unsent += 1;
  send(message as never, undefined, undefined, () => {
    unsent -= 1;
    if (unsent === 0) drained?.();
  });
}

let exiting = false;
/** process.exit once what was posted has left: a plain exit could drop the last lifecycle note or reply. */
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  if (unsent === 0) realExit(code);
  drained = () => realExit(code);
  setTimeout(() => realExit(code), FLUSH_DEADLINE_MS);
}

// Node's default for an unhandled rejection ('throw') raises it here as well. The daemon gets the error itself,
// not a stack trace to parse from stderr.
process.on('uncaughtException', (err) => {
  if (exiting) return;
  post({ t: 'fatal', error: errorToWire(err) });
  exit(1);
});
process.on('disconnect', () => exit(0));

const builtins = prepareCuratedBuiltins({ getBuiltinModule: realGetBuiltinModule() });
builtins.catch(() => undefined);

process.once('message', (message: unknown) => {
  const m = message as { t?: unknown; bootstrap?: unknown } | null;
  if (typeof m !== 'object' || m === null || m.t !== 'bootstrap' || typeof m.bootstrap !== 'object' || m.bootstrap === null) {
    process.stderr.write('agent-process: the first message was not a bootstrap\n');
    exit(2);
    return;
  }
  const port: IChannelPort = {
    // Advanced serialization copies ArrayBuffers (there is no transfer over IPC).
    post: (msg: ChannelMessage) => post(msg),
    onMessage: (handler) => {
      process.on('message', handler);
    },
    close: () => channel.unref(),
  };
  void runAgentHost({ port, bootstrap: m.bootstrap as HostBootstrap, keepAlive: { ref: () => channel.ref(), unref: () => channel.unref() }, exit, builtins });
});
