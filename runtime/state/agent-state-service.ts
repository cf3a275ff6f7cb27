/**
 * The daemon's side of ctx.state: answers an isolate's `state.load` before its plugins start (spec 002 phase 3,
 * "the core reads the last State Snapshot through the daemon") and stores its `state.save` notes in the state DB,
 * which coalesces them into atomic file writes. Values from the isolate are validated again here: it is untrusted.
 */
import type { DaemonChannel } from '../core/channel-methods.ts';
import type { Logger } from '../logging/logger.ts';
import type { StateDb } from './state-db.ts';

export function serveAgentState(agentId: string, channel: DaemonChannel, db: StateDb, log: Logger): void {
  let reported = false;
  channel.handle('state.load', () => db.getSnapshot(agentId) ?? null);
  channel.onNote('state.save', (value) => {
    try {
      db.setSnapshot(agentId, value);
    } catch (err) {
      // Logged once per isolate: an agent saving a bad value in a loop must not flood the journal.
      if (reported) return;
      reported = true;
      log.warn(`state of agent ${agentId} not saved: ${(err as Error).message}`);
    }
  });
}
