// `openstarry status` shows Home Assistant discovery in one line when the daemon reports it (README "Home Assistant").
import t from 'tap';
import type { DaemonStatus } from '../control/protocol.ts';
import { statusText } from './commands/status.ts';

const base = {
  version: '0.1.0', deviceId: 'd', pid: 1, state: 'ready', phase: 'ready', phases: [], board: { name: 'sim', detectedBy: 'fallback' }, degraded: [],
  home: '/h', socket: '/s', startedAt: '2024-01-01T00:00:00.000Z', uptimeMs: 1000, templates: { dir: '/t', valid: 2, invalid: [] }, infrastructure: [],
  link: { state: 'connected' }, agents: { starting: 0, running: 1, stopping: 0, exited: 0, crashed: 0, restarting: 0, total: 1 },
} satisfies DaemonStatus;

t.test('the hass line: counters, the last refusal, or why it did not start; none when off', async (t) => {
  const line = (homeassistant: DaemonStatus['homeassistant']) => statusText({ ...base, ...(homeassistant ? { homeassistant } : {}) }).split('\n').find((l) => l.startsWith('hass:'));
  t.equal(line(undefined), undefined, 'off: no line');
  t.equal(
    line({ enabled: true, prefix: 'homeassistant', entities: 15, commands: { received: 3, applied: 1, refused: 1, malformed: 1 }, lastRefusal: 'fan ON: ERR_DEVICE_BUSY: owned' }),
    'hass:       15 entities under homeassistant/; commands 3: 1 applied, 1 refused (last: fan ON: ERR_DEVICE_BUSY: owned), 1 malformed',
  );
  t.equal(line({ enabled: true, error: 'no MQTT link (see `link` in status)' }), 'hass:       Home Assistant discovery not started: no MQTT link (see `link` in status)');
});
