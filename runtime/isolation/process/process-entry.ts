/**
 * Entry point of a process isolate (process-driver.ts): a child Node process, run under Node's permission model,
 * that runs the same agent host as a worker (host/agent-host.ts: module sandbox, hardened `process`, AgentCore).
 * Always run as one bundled file (dist/agent-process.mjs, or the same bundle built on the fly from source): the
 * permission model then only has to grant read access to that one file.
 *
 * The channel is fd 3, a socket pair the driver made (stdio 'pipe'), carrying length-prefixed frames
 * (docker/frame-codec.ts, the same codec as a container's socket) rather than Node's IPC channel: the daemon reads
 * each frame's length before its bytes, so an oversized message is refused before it is buffered (message-cap.ts).
 * Protocol on top of the channel, between the driver and this entry only (neither is a ChannelMessage):
 *   daemon -> child, first message   note host.bootstrap { HostBootstrap }
 *   child -> daemon, before dying    note host.fatal { error: WireError }   (uncaught exception / unhandled rejection)
 * The daemon's end of the socket going away (daemon killed) ends the child: an agent never outlives its daemon.
 */
import { Socket } from 'node:net';
import { isolateNote } from '../../core/channel-methods.ts';
import { errorToWire } from '../../core/errors.ts';
import { FATAL_NOTE, isBootstrapNote } from '../docker/container-protocol.ts';
import { SocketPort } from '../docker/socket-port.ts';
import { realGetBuiltinModule, runAgentHost } from '../host/agent-host.ts';
import { prepareCuratedBuiltins } from '../host/module-policy.ts';

/** The channel's file descriptor (the driver's stdio[3]). */
export const CHANNEL_FD = 3;
/** Longest the child waits for queued channel bytes (the last lifecycle note, a fatal report) before it exits. */
const FLUSH_DEADLINE_MS = 2000;

// Everything the host needs from the real process is captured before hardening replaces globalThis.process.
const realExit = process.exit.bind(process);
let socket: Socket;
try {
  socket = new Socket({ fd: CHANNEL_FD, readable: true, writable: true });
} catch {
  process.stderr.write('agent-process: started without its channel on fd 3; the process driver starts this file\n');
  realExit(2);
}
const port = new SocketPort();
port.attach(socket!);

let exiting = false;
/** process.exit once what was posted has left: a plain exit could drop the last lifecycle note or reply. */
function exit(code: number): void {
  if (exiting) return;
  exiting = true;
  setTimeout(() => realExit(code), FLUSH_DEADLINE_MS);
  if (socket.writable) socket.end(() => realExit(code));
  else realExit(code);
}

// Node's default for an unhandled rejection ('throw') raises it here as well. The daemon gets the error itself,
// not a stack trace to parse from stderr.
process.on('uncaughtException', (err) => {
  if (exiting) return;
  try {
    port.post(isolateNote(FATAL_NOTE, { error: errorToWire(err) }));
  } catch {
    // an unencodable error still ends the process below
  }
  exit(1);
});
// The daemon closed the channel (or died): nothing would answer the agent's calls any more.
void port.closed.then(() => {
  if (!exiting) realExit(0);
});

const builtins = prepareCuratedBuiltins({ getBuiltinModule: realGetBuiltinModule() });
builtins.catch(() => undefined);

port.onMessage((message) => {
  port.clearHandlers();
  if (!isBootstrapNote(message)) {
    process.stderr.write('agent-process: the first message was not a bootstrap\n');
    exit(2);
    return;
  }
  void runAgentHost({ port, bootstrap: message.params, keepAlive: { ref: () => socket.ref(), unref: () => socket.unref() }, exit, builtins });
});
