/**
 * What every event source adapter shares: it calls `emit` (the orchestrator's) and can be stopped. Sources own
 * their timers and subscriptions; stop() releases all of them and is idempotent.
 */
import type { OrchestratorEvent } from '../orchestrator.ts';

export type Emit = (event: OrchestratorEvent) => void;

export interface EventSource {
  readonly name: string;
  stop(): void;
}
