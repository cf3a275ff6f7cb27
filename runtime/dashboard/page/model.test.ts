import t from 'tap';
import type { History } from './model.ts';
import { addSample, formatValue, WINDOW_MS } from './model.ts';

t.test('addSample grows each quantity and keeps only the last 10 minutes', async (t) => {
  const h: History = {};
  addSample(h, { deviceId: 'env0', values: { temperature: 20, humidity: 40 }, at: 0 });
  addSample(h, { deviceId: 'env0', values: { temperature: 21 }, at: 1000 });
  t.same(h.env0?.temperature, { at: [0, 1000], values: [20, 21] });
  addSample(h, { deviceId: 'env0', values: { temperature: 22 }, at: WINDOW_MS + 500 });
  t.same(h.env0?.temperature, { at: [1000, WINDOW_MS + 500], values: [21, 22] });
});

t.test('formatValue: reading maps, integers, states', async (t) => {
  t.equal(formatValue({ temperature: 19.113, satellites: 9 }), 'temperature 19.1 · satellites 9');
  t.equal(formatValue('off'), 'off');
  t.equal(formatValue(undefined), '–');
});
