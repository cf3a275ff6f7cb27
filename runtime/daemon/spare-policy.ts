/**
 * How many worker threads the daemon keeps booted for spawns (`agents.warmSpares`, README "Configuration").
 *
 * A spawn into a spare skips a worker's start-up, the largest part of an event -> rule -> spawn -> start() path
 * (~80 ms cold against ~15 ms warm on the 2-core dev machine; README "Performance"), but a spare costs ~6-10 MB of
 * RSS while it waits. `auto` (the default) keeps one only where spawns are expected from events: when the rules in
 * force have a spawn() action. A board with no such rule stays as lean as it can be; a number is taken as given.
 */
import type { IIsolationDriver } from '../isolation/isolation-driver.ts';
import { WorkerDriver } from '../isolation/worker/worker-driver.ts';
import type { RuleSet } from '../orchestrator/rules-schema.ts';

export type WarmSparesSetting = number | 'auto';

export function warmSparesFor(setting: WarmSparesSetting, rules: RuleSet | undefined): number {
  if (setting !== 'auto') return setting;
  return rules?.rules.some((r) => r.enabled && r.actions.some((a) => a.verb === 'spawn')) ? 1 : 0;
}

/** The rules phase's callback (runtime/orchestrator/orchestration-hub.ts onRules): re-sizes the worker driver's spares. */
export function sparesFollowRules(drivers: readonly IIsolationDriver[], setting: WarmSparesSetting): (rules: RuleSet) => void {
  return (rules) => drivers.find((d): d is WorkerDriver => d instanceof WorkerDriver)?.setWarmSpares(warmSparesFor(setting, rules));
}
