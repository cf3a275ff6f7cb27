// End to end (issue 15 "Tested in a real browser"): the dashboard page of the real daemon (dist/) in headless
// Chromium (Debian `chromium`) driven by playwright-core, in ONE browser launch: the page loads with no console
// error, shows the master agent and env0's temperature, a value changes without a reload (the SSE stream), without
// the token there is no spawn button and the API answers 401, with it a spawn makes a new row appear, and after a
// daemon restart the page reconnects by itself. A screenshot goes to .tap/output/dashboard.png (the README shows a
// copy committed as docs/dashboard.png).
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import t from 'tap';
import type { DaemonStatus } from '../control/protocol.ts';
import { requirePart } from '../../scripts/testing/system-deps.ts';
import { ROOT, startDaemon, tempDir } from './harness.ts';

const CHROMIUM = process.env.OPENSTARRY_CHROMIUM ?? '/usr/bin/chromium';
const TOKEN = 'e2e-dashboard-token-0123456789abcdef';

t.test('the dashboard page in a real browser: live values, read-only without the token, a spawn with it', async (t) => {
  if (!requirePart(t, existsSync(CHROMIUM), `${CHROMIUM} is not installed (apt-get install chromium)`)) return;
  const dir = tempDir(t);
  writeFileSync(path.join(dir, 'token'), `${TOKEN}\n`);
  writeFileSync(path.join(dir, 'config.yaml'), `dashboard:\n  listen: 127.0.0.1:0\n  tokenFile: ${path.join(dir, 'token')}\n  sampleIntervalMs: 1000\n`);
  // A fixed port, so the restarted daemon below is at the address the open page reconnects to.
  const port = await freePort();
  const start = () => startDaemon(t, { dir, args: ['--config', path.join(dir, 'config.yaml')], env: { OPENSTARRY_DASHBOARD: `127.0.0.1:${port}` } });
  const d = await start();
  const status = await d.json<DaemonStatus>('status');
  const url = status.dashboard?.url;
  t.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/, 'status --json names the page');
  t.equal(status.dashboard?.readOnly, false);

  // Offline and light (issue 15): everything the page loads comes from the daemon, ≤ 150 KB gzipped in all.
  let weight = 0;
  for (const asset of ['', 'app.js', 'app.css', 'favicon.svg']) {
    const res = await fetch(`${url}${asset}`);
    t.equal(res.status, 200, `/${asset} is served`);
    weight += gzipSync(Buffer.from(await res.arrayBuffer())).length;
  }
  t.ok(weight <= 150 * 1024, `page weight ${(weight / 1024).toFixed(1)} KB gzipped (at most 150 KB)`);

  const { chromium } = await import('playwright-core');
  // A fresh profile (playwright's persistent context is how it takes --user-data-dir).
  const browser = await chromium.launchPersistentContext(path.join(dir, 'chromium'), {
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 1000 },
  });
  t.teardown(() => browser.close());
  const page = browser.pages()[0] ?? (await browser.newPage());
  const problems: string[] = [];
  page.on('console', (m) => void (m.type() === 'error' && problems.push(`console: ${m.text()}`)));
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  let requests = 0;
  const origins = new Set<string>();
  page.on('request', (r) => {
    origins.add(new URL(r.url()).origin);
    if (r.url().includes('/api/') && !r.url().endsWith('/api/stream')) requests += 1;
  });

  await page.goto(url!);
  await page.locator('#agents tr[data-agent="master"]').waitFor({ timeout: 20_000 });
  t.pass('the master agent is listed');
  const env0 = page.locator('#devices tr[data-device="env0"] td.value');
  t.match(await env0.textContent(), /temperature \d+/, "env0's temperature is shown");
  await page.locator('figure[data-series="env0.temperature"] polyline').waitFor({ timeout: 20_000 });
  t.pass("env0's temperature has a chart");

  // Live: the sampler reads env0 every second and the stream carries it; the page is not reloaded.
  const before = await env0.textContent();
  await page.waitForFunction((b) => document.querySelector('#devices tr[data-device="env0"] td.value')?.textContent !== b, before, { timeout: 20_000 });
  t.pass('a value changed without a reload');
  t.equal(requests, 0, 'nothing polled: every update came over the stream');

  t.same(problems, [], `no console error while the page loads and updates: ${problems.join(' | ')}`);

  // Without the token: no spawn or kill button, and the API refuses (Chromium logs that 401 as a console error).
  problems.length = 0;
  t.equal(await page.locator('#spawn').count(), 0, 'no spawn button without a token');
  t.equal(await page.locator('#agents button').count(), 0, 'no kill button without a token');
  const refused = await page.evaluate(async () => (await fetch('/api/agents', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"template":"hello-sensor"}' })).status);
  t.equal(refused, 401, 'the API answers 401 without the token');
  t.match(problems, [/401 \(Unauthorized\)/], 'the one console error is the refused call');
  problems.length = 0;

  // With the token: the buttons appear and a spawn adds a row.
  await page.fill('#token', TOKEN);
  await page.locator('form.token button').click();
  await page.locator('#spawn').waitFor({ timeout: 5000 });
  await page.selectOption('#template', 'hello-sensor');
  await page.locator('#spawn').click();
  await page.locator('#agents tr[data-agent="hello-sensor"]').waitFor({ timeout: 20_000 });
  t.pass('a spawn with the token makes a new row appear');
  t.match(await page.locator('.events').textContent(), /spawned hello-sensor/, 'and is among the last events');
  // An actuator no agent owns is switched through the HAL (its envelope and rate limit; hal/hal-service.ts).
  await page.locator('#devices tr[data-device="fan"] button', { hasText: 'on' }).click();
  await page.waitForFunction(() => document.querySelector('#devices tr[data-device="fan"] td.value')?.textContent === 'on', undefined, { timeout: 10_000 });
  t.pass('the fan was switched on from the page');

  const out = path.join(ROOT, '.tap', 'output');
  mkdirSync(out, { recursive: true });
  await page.screenshot({ path: path.join(out, 'dashboard.png'), fullPage: true });
  t.same(problems, [], `no console error after the token: ${problems.join(' | ')}`);
  t.same([...origins], [new URL(url!).origin], 'no request left the daemon (no CDN)');
  const after = await d.json<DaemonStatus>('status');
  t.match(after.dashboard, { stream: { clients: 1, accepted: 1 }, actions: { applied: 2, unauthorized: 1 } });

  // A daemon restart: the open page's EventSource reconnects by itself (the server's `retry:`) and shows the new
  // daemon (a clean stop does not bring hello-sensor back), without a reload and still without polling.
  d.child.kill('SIGTERM');
  await d.exited;
  await page.waitForFunction(() => document.getElementById('connection')?.textContent !== 'live', undefined, { timeout: 20_000 });
  const d2 = await start();
  await page.locator('#agents tr[data-agent="hello-sensor"]').waitFor({ state: 'detached', timeout: 30_000 });
  await page.waitForFunction(() => document.getElementById('connection')?.textContent === 'live', undefined, { timeout: 20_000 });
  t.pass('the page reconnected to the restarted daemon by itself');
  t.equal(requests, 3, 'still nothing polled (the requests were the refused call, the spawn and the switch)');
  t.match((await d2.json<DaemonStatus>('status')).dashboard, { stream: { clients: 1 } });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}
