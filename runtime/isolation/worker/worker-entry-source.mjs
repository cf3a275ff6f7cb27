// Worker entry when the daemon runs from TypeScript source (tests, `npm run openstarry`): Node 20 does not
// apply a parent's --import loader to a worker's .ts entry, so register tsx here, then load the real entry.
// The shipped bundle uses dist/agent-host.cjs instead and never loads this file.
import { register } from 'tsx/esm/api';

register();
await import('./worker-entry.ts');
