// States on change, a measured value at most once per interval (the latest one waiting goes at the next flush), a
// discrete state at once, a refused send kept for the next flush; on a ManualClock (no timing assertions).
import t from 'tap';
import { ManualClock } from '../manual-clock.ts';
import { StateThrottle } from './state-throttle.ts';

function make(accept = () => true) {
  const clock = new ManualClock();
  const sent: string[] = [];
  const throttle = new StateThrottle({ clock, intervalMs: 30_000, send: (topic, payload) => (accept() ? (sent.push(`${topic}=${payload}`), true) : false) });
  return { clock, sent, throttle };
}

t.test('a measured value: the first at once, then on change at most once per interval, the latest waiting', async (t) => {
  const { clock, sent, throttle } = make();
  throttle.measured('t', '20');
  throttle.measured('t', '20');
  t.same(sent, ['t=20'], 'unchanged values are not sent again');
  clock.advance(10_000);
  throttle.measured('t', '21');
  throttle.measured('t', '22');
  throttle.flush();
  t.same(sent, ['t=20'], 'a change within the interval waits');
  t.equal(clock.pending, 1, 'one timer for the waiting topic');
  clock.advance(19_999);
  t.same(sent, ['t=20']);
  clock.advance(1);
  t.same(sent, ['t=20', 't=22'], 'the latest one goes when the interval since the last send is over');
  t.equal(clock.pending, 0, 'no timer while nothing waits');
  clock.advance(30_000);
  throttle.measured('t', '23');
  t.same(sent, ['t=20', 't=22', 't=23'], 'an interval after the last send a change goes at once');
  clock.advance(1000);
  throttle.measured('t', '24');
  throttle.measured('t', '23');
  clock.advance(30_000);
  throttle.flush();
  t.same(sent, ['t=20', 't=22', 't=23'], 'a change that went back to the sent value is dropped');
  throttle.measured('t', '25');
  throttle.measured('t', '26');
  throttle.close();
  clock.advance(60_000);
  throttle.measured('t', '27');
  throttle.changed('fan', 'ON');
  t.same(sent, ['t=20', 't=22', 't=23', 't=25'], 'nothing after close()');
  t.equal(clock.pending, 0);
});

t.test('a discrete state goes at once when it changes; topics are independent', async (t) => {
  const { sent, throttle } = make();
  throttle.changed('fan', 'OFF');
  throttle.changed('fan', 'ON');
  throttle.changed('fan', 'ON');
  throttle.measured('t', '1');
  throttle.changed('fan', 'OFF');
  t.same(sent, ['fan=OFF', 'fan=ON', 't=1', 'fan=OFF']);
});

t.test('a send the link refused is kept and tried again at the next flush; resendAll sends every state again', async (t) => {
  let accept = false;
  const { sent, throttle } = make(() => accept);
  throttle.changed('fan', 'ON');
  throttle.measured('t', '5');
  t.same(sent, []);
  accept = true;
  throttle.flush();
  t.same(sent, ['fan=ON', 't=5']);
  throttle.resendAll();
  t.same(sent, ['fan=ON', 't=5', 'fan=ON', 't=5']);
});
