/**
 * Entry of the worker thread that hosts one wasm agent (wasm-driver.ts): QuickJS runs here, not on the daemon's
 * main thread, so an agent's CPU use never delays the daemon; the interrupt deadline (quickjs-vm.ts) still ends
 * a busy loop so the agent cannot sit on this thread either. The worker ends by itself when the VM ends: it
 * reports the exit, closes its port, and has nothing else alive.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { isolateNote } from '../../core/channel-methods.ts';
import { ErrorCode } from '../../core/errors.ts';
import { QuickJsAgentVm } from './quickjs-vm.ts';
import type { FromWorker, ToWorker, VmWorkerData } from './worker-protocol.ts';

if (!parentPort) throw new Error('vm-worker must run inside a worker thread');
const port = parentPort;
const data = workerData as VmWorkerData;

const send = (message: FromWorker, transfer?: ArrayBuffer[]) => port.postMessage(message, transfer);
let ended = false;
const end = (exit: Extract<FromWorker, { k: 'end' }>['exit']) => {
  if (ended) return;
  ended = true;
  send({ k: 'end', exit });
  port.close();
};

if (typeof data.bundle !== 'string') {
  // The bundle was refused (ERR_ISOLATE_DENIED): reported the way a failed start is, as a crash on the channel.
  send({ k: 'ch', m: isolateNote('lifecycle', { state: 'crashed', error: data.bundle.failure }) });
  end({ code: 1, cause: 'exit' });
} else {
  const early: ToWorker[] = [];
  let vm: QuickJsAgentVm | undefined;
  port.on('message', (message: ToWorker) => {
    if (message.k !== 'ch') return;
    if (vm) vm.deliver(message.m);
    else early.push(message);
  });
  try {
    vm = await QuickJsAgentVm.start(
      { wasmModule: data.wasmModule, memoryBytes: data.memoryBytes, deadlineMs: data.deadlineMs, bundle: data.bundle, bootstrap: data.bootstrap, stats: new Float64Array(data.stats) },
      {
        post: (m, transfer) => send({ k: 'ch', m }, transfer),
        output: (stream, line) => send({ k: 'out', stream, line }),
        end,
      },
    );
    for (const m of early.splice(0)) vm.deliver(m.m);
  } catch (err) {
    send({ k: 'ch', m: isolateNote('lifecycle', { state: 'crashed', error: { code: ErrorCode.INTERNAL, message: `wasm isolate failed to start: ${(err as Error).message}` } }) });
    end({ code: 1, cause: 'uncaught-error', error: { code: ErrorCode.INTERNAL, message: (err as Error).message } });
  }
}
