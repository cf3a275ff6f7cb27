/**
 * Entry point of a docker isolate (bundled as dist/agent-container.js and baked into the agent image): connects
 * to the channel socket the daemon mounted into the container, waits for the one `host.bootstrap` note that
 * brings the HostBootstrap, then runs the same agent host as a worker does, with the socket as the channel port.
 *
 *   node --experimental-vm-modules agent-container.js /run/openstarry/channel.sock
 *
 * The DI environment (OPENSTARRY_AGENT_ID, OPENSTARRY_HOME) is the container's own env, set by the driver.
 * An uncaught error or unhandled rejection is sent to the daemon as a `host.fatal` note (its WireError) before
 * the process exits 1, so the driver reports the agent's own reason rather than only an exit code.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { isolateNote } from '../../core/channel-methods.ts';
import { errorToWire } from '../../core/errors.ts';
import type { HostBootstrap } from '../host/agent-host.ts';
import { realGetBuiltinModule, runAgentHost } from '../host/agent-host.ts';
import { prepareCuratedBuiltins } from '../host/module-policy.ts';
import { FATAL_NOTE, isBootstrapNote } from './container-protocol.ts';
import { SocketPort } from './socket-port.ts';

// Captured before hardening: agent code later sees a process facade (host/isolate-hardening.ts), never this one.
const exit = process.exit.bind(process);
const socketPath = process.argv[2];
if (!socketPath) {
  process.stderr.write('usage: agent-container.js <channel socket path>\n');
  exit(2);
}

const builtins = prepareCuratedBuiltins({ getBuiltinModule: realGetBuiltinModule() });
builtins.catch(() => undefined);

const port = new SocketPort();
const socket: Socket = connect(socketPath as string);
let exiting = false;

/** Reports the error to the daemon, waits (briefly) for the bytes to leave, then ends the process. */
function fatal(err: unknown): void {
  if (exiting) return;
  exiting = true;
  try {
    port.post(isolateNote(FATAL_NOTE, { error: errorToWire(err) }));
  } catch {
    // an unencodable error still ends the process below
  }
  const done = () => exit(1);
  setTimeout(done, 1000).unref();
  if (socket.writable) socket.end(done);
  else done();
}
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

socket.once('connect', () => port.attach(socket));
socket.once('error', (err) => {
  if (port.attached) return; // the port reports it
  process.stderr.write(`cannot connect to the channel socket ${socketPath}: ${err.message}\n`);
  exit(3);
});
// The daemon closing the channel (or dying) ends the agent: nothing would answer its HAL calls any more.
void port.closed.then((reason) => {
  if (exiting) return;
  if (reason !== 'socket closed') process.stderr.write(`channel ended: ${reason}\n`);
  exit(reason === 'socket closed' ? 0 : 1);
});

port.onMessage((message) => {
  if (!isBootstrapNote(message)) {
    process.stderr.write('the first channel message was not the bootstrap\n');
    exit(2);
    return;
  }
  port.clearHandlers();
  const bootstrap = message.params as HostBootstrap;
  void runAgentHost({ port, bootstrap, keepAlive: { ref: () => socket.ref(), unref: () => socket.unref() }, exit, builtins });
});

