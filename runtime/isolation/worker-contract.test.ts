// The isolation contract (isolation-contract.ts) against the worker driver: real worker threads.
import t from 'tap';
import { runIsolationContract } from './isolation-contract.ts';
import { WorkerDriver } from './worker/worker-driver.ts';

await runIsolationContract(t, { name: 'worker', makeDriver: () => new WorkerDriver() });
