/**
 * MQTT topic rules the link checks before anything reaches the broker (MQTT 3.1.1 §4.7, MQTT 5 §4.7): a topic
 * name has no wildcards, a filter uses `+` for one whole level and `#` only as the whole last level, neither is
 * empty or holds NUL, and both fit in 65,535 UTF-8 bytes.
 */
import { OpenStarryError } from '../errors.ts';
import { LinkErrorCode } from './errors.ts';

const MAX_TOPIC_BYTES = 65_535;

export function checkTopicName(topic: string): void {
  if (topic === '' || Buffer.byteLength(topic, 'utf8') > MAX_TOPIC_BYTES) throw invalid(topic, 'must be 1 to 65535 bytes');
  if (topic.includes('+') || topic.includes('#') || topic.includes('\u0000')) throw invalid(topic, 'a topic name must not contain "+", "#" or NUL');
}

export function checkTopicFilter(filter: string): void {
  if (filter === '' || Buffer.byteLength(filter, 'utf8') > MAX_TOPIC_BYTES) throw invalid(filter, 'must be 1 to 65535 bytes');
  if (filter.includes('\u0000')) throw invalid(filter, 'must not contain NUL');
  const levels = filter.split('/');
  levels.forEach((level, i) => {
    if (level.includes('#') && (level !== '#' || i !== levels.length - 1)) throw invalid(filter, '"#" must be a whole level and the last one');
    if (level.includes('+') && level !== '+') throw invalid(filter, '"+" must be a whole level');
  });
}

/** Does `topic` match `filter`? Topics starting with `$` match no filter starting with a wildcard (§4.7.2). */
export function topicMatches(filter: string, topic: string): boolean {
  if (topic.startsWith('$') && (filter.startsWith('+') || filter.startsWith('#'))) return false;
  const f = filter.split('/');
  const t = topic.split('/');
  for (let i = 0; i < f.length; i++) {
    const level = f[i];
    if (level === '#') return true;
    if (i >= t.length) return false;
    if (level !== '+' && level !== t[i]) return false;
  }
  return f.length === t.length;
}

function invalid(topic: string, why: string): OpenStarryError {
  return new OpenStarryError(LinkErrorCode.TOPIC_INVALID, `invalid MQTT topic ${JSON.stringify(topic.slice(0, 200))}: ${why}`);
}
