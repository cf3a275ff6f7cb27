// The isolation contract (isolation-contract.ts) against the process driver: real child processes under Node's
// permission model, the entry bundled from source on the fly.
import t from 'tap';
import { runIsolationContract } from '../isolation-contract.ts';
import { ProcessDriver } from './process-driver.ts';

await runIsolationContract(t, { name: 'process', makeDriver: () => new ProcessDriver(), ownProcess: true });
