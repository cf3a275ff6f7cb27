// Worker entry when the daemon runs from TypeScript source (tests, `npm run openstarry`): Node 20 does not apply a
// parent's --import loader to a worker's .ts entry, so register tsx here, then load the real entry.
import { register } from 'tsx/esm/api';

register();
await import('./vm-worker.ts');
