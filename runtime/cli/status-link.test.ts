// `openstarry status`'s link line: the queue's counters and the embedded broker's refusals, where deliveries the ACL
// withheld (which close no connection) are told apart from refusals (README "MQTT, remote triggers and rules").
import t from 'tap';
import type { DaemonStatus } from '../control/protocol.ts';
import { statusText } from './commands/status.ts';

const base = {
  version: '0.1.0', deviceId: 'd', pid: 1, state: 'ready', phase: 'ready', phases: [], board: { name: 'sim', detectedBy: 'fallback' }, degraded: [],
  home: '/h', socket: '/s', startedAt: '2024-01-01T00:00:00.000Z', uptimeMs: 1000, templates: { dir: '/t', valid: 2, invalid: [] }, infrastructure: [],
  link: { state: 'connected' }, agents: { starting: 0, running: 1, stopping: 0, exited: 0, crashed: 0, restarting: 0, total: 1 },
} satisfies DaemonStatus;

const refusals = { packetTooLarge: 0, connections: 0, clientId: 0, credentials: 0, topic: 0, rate: 0, retained: 0, read: 0 };
const linkLine = (link: DaemonStatus['link']) => statusText({ ...base, link }).split('\n').find((l) => /connected/.test(l)) ?? '';
const broker = (refused: Partial<typeof refusals>) => ({ state: 'running' as const, host: '127.0.0.1', port: 1883, clients: 2, guard: { retained: { messages: 1, bytes: 10 }, refused: { ...refusals, ...refused } } });

t.test('refusals and ACL-withheld deliveries are shown apart; nothing when there are none', async (t) => {
  t.notMatch(linkLine({ state: 'connected', broker: broker({}) }), /refused|withheld/);
  t.match(linkLine({ state: 'connected', broker: broker({ topic: 3, clientId: 1 }) }), /embedded broker running on 127\.0\.0\.1:1883 \(refused: 1 clientId, 3 topic\)$/);
  t.match(linkLine({ state: 'connected', broker: broker({ topic: 1, read: 5 }) }), /\(refused: 1 topic\) \(withheld by the ACL: 5\)$/);
  t.match(linkLine({ state: 'connected', broker: broker({ read: 2 }) }), /1883 \(withheld by the ACL: 2\)$/);
});

t.test('the queue: dropped, expired, and records of a newer version kept', async (t) => {
  const queue = { queued: 4, bytes: 40, dropped: 1, coalesced: 0, expired: 0, fileBytes: 100, compactions: 0, discardedTailBytes: 0, newerRecords: 2 };
  t.match(linkLine({ state: 'connected', queue }), /queue 4 \(1 dropped\) \(2 of a newer version kept\)/);
});
