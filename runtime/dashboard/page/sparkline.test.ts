import t from 'tap';
import { sparkline } from './sparkline.ts';

t.test('sparkline: points across the window, min/max/last; flat and empty series', async (t) => {
  const s = sparkline([0, 500, 1000], [10, 20, 15], { width: 100, height: 20, windowMs: 1000, end: 1000 });
  t.match(s, { min: 10, max: 20, last: 15 });
  t.equal(s?.points, '0.0,18.0 50.0,2.0 100.0,10.0', 'min at the bottom, max at the top (2 px padding)');
  t.equal(sparkline([900, 1000], [5, 5], { width: 100, height: 20, windowMs: 1000, end: 1000 })?.points, '90.0,10.0 100.0,10.0');
  t.equal(sparkline([], [], { width: 100, height: 20, windowMs: 1000, end: 1000 }), undefined);
  t.equal(sparkline([-5000], [1], { width: 100, height: 20, windowMs: 1000, end: 1000 })?.points, '0.0,10.0', 'older than the window: clamped to the edge');
});
