/**
 * The soak run's pass/fail rules (scripts/soak/run.ts), pure so they can be tested without a 30-minute run.
 *
 *   loss     for every agent boot, the sequence numbers 0..published-1 that the agent saw accepted must each have
 *            reached the subscriber at least once (QoS 1 is at-least-once: duplicates are counted, not failed);
 *            a message the daemon's queue dropped is loss too.
 *   RSS      warm-up is the first `warmupMinutes` (JIT, caches, the queue file and the agents' heaps settle). The
 *            baseline is the median of the daemon's RSS samples over the minute after warm-up, the end value the
 *            median over the last minute; growth = end / baseline - 1, a failure above 5 %. Medians, because a
 *            single sample lands anywhere in a GC cycle. A run shorter than warm-up + 2 minutes cannot judge it.
 *   fds      the same two minutes, but the minimum of each (a status poll or a reconnect holds a descriptor for a
 *            moment): a failure when the last minute's minimum is above the baseline minute's minimum.
 */
import { percentile } from '../bench/measure.ts';

export const RSS_GROWTH_LIMIT_PCT = 5;

export interface Sample {
  /** Seconds since the agents started. */
  t: number;
  rssBytes: number;
  treeRssBytes: number;
  fds: number;
}

export interface StreamCount {
  agentId: string;
  boot: string;
  /** Events the agent saw accepted (its sequence numbers 0..published-1). */
  published: number;
  /** Distinct sequence numbers below `published` that reached the subscriber. */
  delivered: number;
  duplicates: number;
}

export interface Verdict {
  published: number;
  delivered: number;
  duplicates: number;
  lost: number;
  queueDropped: number;
  rss: { checked: boolean; baselineBytes?: number; endBytes?: number; growthPct?: number; limitPct: number; definition: string };
  fds: { checked: boolean; baseline?: number; end?: number };
  failures: string[];
}

function window(samples: readonly Sample[], fromS: number, toS: number): Sample[] {
  return samples.filter((s) => s.t >= fromS && s.t < toS);
}

export function judge(input: { samples: readonly Sample[]; minutes: number; warmupMinutes: number; streams: readonly StreamCount[]; queueDropped: number }): Verdict {
  const { samples, minutes, warmupMinutes, streams, queueDropped } = input;
  const published = streams.reduce((n, s) => n + s.published, 0);
  const delivered = streams.reduce((n, s) => n + s.delivered, 0);
  const duplicates = streams.reduce((n, s) => n + s.duplicates, 0);
  const lost = published - delivered;
  const failures: string[] = [];
  if (lost > 0) {
    const which = streams.filter((s) => s.delivered < s.published).map((s) => `${s.agentId}/${s.boot}: ${s.published - s.delivered} of ${s.published}`);
    failures.push(`${lost} message(s) lost (${which.join(', ')})`);
  }
  if (queueDropped > 0) failures.push(`the daemon's queue dropped ${queueDropped} message(s)`);
  const definition = `median daemon RSS over minute ${warmupMinutes}-${warmupMinutes + 1} (after ${warmupMinutes} min warm-up) vs over the last minute; limit +${RSS_GROWTH_LIMIT_PCT} %`;
  const rss: Verdict['rss'] = { checked: false, limitPct: RSS_GROWTH_LIMIT_PCT, definition };
  const fds: Verdict['fds'] = { checked: false };
  const base = window(samples, warmupMinutes * 60, (warmupMinutes + 1) * 60);
  const last = window(samples, (minutes - 1) * 60, minutes * 60);
  if (minutes >= warmupMinutes + 2 && base.length > 0 && last.length > 0) {
    const baselineBytes = percentile(base.map((s) => s.rssBytes), 50);
    const endBytes = percentile(last.map((s) => s.rssBytes), 50);
    const growthPct = (endBytes / baselineBytes - 1) * 100;
    Object.assign(rss, { checked: true, baselineBytes, endBytes, growthPct });
    if (growthPct > RSS_GROWTH_LIMIT_PCT) failures.push(`daemon RSS grew ${growthPct.toFixed(1)} % after warm-up (${mib(baselineBytes)} -> ${mib(endBytes)}; limit ${RSS_GROWTH_LIMIT_PCT} %)`);
    const fdBase = Math.min(...base.map((s) => s.fds));
    const fdEnd = Math.min(...last.map((s) => s.fds));
    Object.assign(fds, { checked: true, baseline: fdBase, end: fdEnd });
    if (fdEnd > fdBase) failures.push(`daemon open fds grew after warm-up (${fdBase} -> ${fdEnd})`);
  }
  return { published, delivered, duplicates, lost, queueDropped, rss, fds, failures };
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
