/**
 * `timers:` of the rules file: emits `timer:<name>` with { name, count } every `everyMs`, on the injected clock.
 * Ticks are scheduled against the start time (start + n * every), so a slow event loop does not make them drift;
 * a tick that is overdue by more than one period is skipped rather than fired twice in a row.
 */
import type { Clock } from '../../clock.ts';
import type { Emit, EventSource } from './event-source.ts';

export interface TimerSourceOptions {
  timers: readonly { name: string; everyMs: number }[];
  clock: Clock;
  emit: Emit;
}

export function startTimerSource(options: TimerSourceOptions): EventSource {
  const handles = new Map<string, unknown>();
  let stopped = false;
  for (const timer of options.timers) {
    const start = options.clock.now();
    let count = 0;
    let slot = 0;
    const schedule = () => {
      if (stopped) return;
      slot += 1;
      const delay = Math.max(0, start + slot * timer.everyMs - options.clock.now());
      handles.set(timer.name, options.clock.setTimeout(fire, delay));
    };
    const fire = () => {
      if (stopped) return;
      const behind = options.clock.now() - (start + slot * timer.everyMs);
      if (behind >= timer.everyMs) slot += Math.floor(behind / timer.everyMs);
      count += 1;
      options.emit({ name: `timer:${timer.name}`, data: { name: timer.name, count }, source: 'timer' });
      schedule();
    };
    schedule();
  }
  return {
    name: 'timers',
    stop() {
      stopped = true;
      for (const h of handles.values()) options.clock.clearTimeout(h);
      handles.clear();
    },
  };
}
