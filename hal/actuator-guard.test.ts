// The actuator safety envelope: declared commands, value ranges, and the token-bucket rate limit.
import t from 'tap';
import type { Clock } from '../runtime/clock.ts';
import { ActuatorGuard } from './actuator-guard.ts';

const clockAt = (ref: { t: number }): Clock => ({ now: () => ref.t, setTimeout: () => 0, clearTimeout: () => undefined });

t.test('commands outside the declared set are refused', async (t) => {
  const g = new ActuatorGuard('fan', { commands: ['on', 'off'] }, { perSecond: 100, burst: 100 }, clockAt({ t: 0 }));
  t.equal(g.admit('on'), 'on');
  for (const bad of ['ON', 'toggle', 1, true]) t.throws(() => g.admit(bad), { code: 'ERR_ENVELOPE_VIOLATION' }, String(bad));
});

t.test('values outside the range are refused, NaN and strings too', async (t) => {
  const g = new ActuatorGuard('valve', { range: { min: 0, max: 100 } }, { perSecond: 100, burst: 100 }, clockAt({ t: 0 }));
  t.equal(g.admit(0), 0);
  t.equal(g.admit(100), 100);
  for (const bad of [-0.1, 100.5, Number.NaN, Number.POSITIVE_INFINITY, '50', false]) t.throws(() => g.admit(bad), { code: 'ERR_ENVELOPE_VIOLATION' });
});

t.test('the rate limit allows a burst, then the sustained rate, and counts refusals', async (t) => {
  const ref = { t: 0 };
  const g = new ActuatorGuard('relay', { commands: ['on', 'off'] }, { perSecond: 2, burst: 3 }, clockAt(ref));
  g.admit('on');
  g.admit('off');
  g.admit('on');
  t.throws(() => g.admit('off'), { code: 'ERR_RATE_LIMITED' });
  ref.t += 499;
  t.throws(() => g.admit('off'), { code: 'ERR_RATE_LIMITED' }, 'not yet a full token');
  ref.t += 1;
  t.equal(g.admit('off'), 'off', 'one token after 500 ms at 2/s');
  ref.t += 60_000;
  for (let i = 0; i < 3; i++) g.admit('on');
  t.throws(() => g.admit('on'), { code: 'ERR_RATE_LIMITED' }, 'tokens never exceed the burst');
  t.equal(g.rateLimited, 3);
});
