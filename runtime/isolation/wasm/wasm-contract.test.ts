// The isolation contract (../isolation-contract.ts) against the wasm driver: real QuickJS-in-WASM VMs, each in its
// own worker thread, the real HAL service over the sim board.
import t from 'tap';
import { runIsolationContract } from '../isolation-contract.ts';
import { WasmDriver } from './wasm-driver.ts';

await runIsolationContract(t, { name: 'wasm', makeDriver: () => new WasmDriver() });
