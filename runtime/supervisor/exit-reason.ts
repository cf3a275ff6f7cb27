/** The one-line reason `openstarry ps` shows for an isolate that ended (a crash, a cap, or its own exit). */
import type { IsolateExit } from '../isolation/isolation-driver.ts';

export function describeExit(exit: IsolateExit): string {
  if (exit.cause === 'message-too-large') return exit.error?.message ?? 'message-too-large';
  if (exit.cause === 'out-of-memory') return `out-of-memory: ${exit.error?.message ?? 'heap limit reached'}`;
  if (exit.error) return `uncaught error: ${exit.error.message}`;
  return `exited with code ${exit.code}`;
}
