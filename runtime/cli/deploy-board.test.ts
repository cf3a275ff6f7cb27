// `openstarry deploy` and `deploy rollback` print each step as the daemon reports it (README "Deploying updates"):
// a line is on stdout while the deployment is still held open by the test, not only once the outcome arrives. A
// daemon that sends no `deploy.progress` (one from before them) still gets every line, from the response. --json:
// one object per line, the steps then the result. Real control server and client over a socket; nothing timed.
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { ControlServer } from '../control/control-server.ts';
import { AT, HoldingApi, STEPS } from '../control/deploy-progress.test-support.ts';
import { socketDir, waitFor } from '../control/test-kit.ts';
import { main } from './main.ts';
import { captureIo } from './test-io.ts';

async function daemon(t: Test): Promise<{ api: HoldingApi; sock: string[] }> {
  const dir = await socketDir(t);
  const api = new HoldingApi(STEPS);
  const server = await ControlServer.listen({ socketPath: path.join(dir, 'd.sock'), api });
  t.teardown(() => server.close());
  return { api, sock: ['--socket', server.socketPath] };
}

const LINES = [
  `${AT} climate@2.0.0: pending`,
  `${AT} climate@2.0.0: verified`,
  `${AT} climate@2.0.0: staged`,
  `${AT} climate@2.0.0: stopping 1.0.0`,
  `${AT} climate@2.0.0: started 2.0.0`,
  `${AT} climate@2.0.0: watching health (window 30s)`,
  `${AT} climate@2.0.0: healthy`,
];

t.test('each step is printed while the deployment is in flight, then the outcome', async (t) => {
  const { api, sock } = await daemon(t);
  const io = captureIo('/home/pi');
  const running = main(['deploy', 'climate-2.0.0.osb', '--health-window', '30s', ...sock], io);
  await waitFor(() => io.stdout.length === LINES.length, 'the progress lines');
  t.same(io.stdout, LINES, 'printed before the daemon answered');
  t.same(api.calls, ['apply /home/pi/climate-2.0.0.osb']);
  api.release();
  t.equal(await running, 0);
  t.same(io.stdout, [...LINES, 'deploy: climate@2.0.0 committed (previous 1.0.0)'], 'no line twice');
});

t.test('deploy rollback: the same lines; a rolled-back outcome exits 1 with its reason', async (t) => {
  const { api, sock } = await daemon(t);
  api.outcome = { outcome: 'rolled-back', templateId: 'climate', version: '2.0.0', reason: 'crashed and was restarted during the health window' };
  const io = captureIo();
  const running = main(['deploy', 'rollback', 'climate', ...sock], io);
  await waitFor(() => io.stdout.length === LINES.length, 'the progress lines');
  api.release();
  t.equal(await running, 1);
  t.same(io.stdout, LINES);
  t.same(io.stderr, ['openstarry: deploy climate@2.0.0 rolled-back: crashed and was restarted during the health window']);
  t.same(api.calls, ['rollback climate']);
});

t.test('a daemon that sends no progress notifications: the lines come from the response', async (t) => {
  const { api, sock } = await daemon(t);
  api.notifies = false;
  const io = captureIo();
  const running = main(['deploy', 'climate@2.0.0', ...sock], io);
  await waitFor(() => api.reported, 'the deployment');
  t.same(io.stdout, [], 'nothing before the answer');
  api.release();
  t.equal(await running, 0);
  t.same(io.stdout, [...LINES, 'deploy: climate@2.0.0 committed (previous 1.0.0)']);
});

t.test('--json: one object per line, each step as it happens, then the result', async (t) => {
  const { api, sock } = await daemon(t);
  const io = captureIo();
  const running = main(['deploy', 'climate@2.0.0', '--json', ...sock], io);
  await waitFor(() => io.stdout.length === STEPS.length, 'the progress objects');
  t.same(io.stdout.map((l) => JSON.parse(l) as unknown), STEPS);
  api.release();
  t.equal(await running, 0);
  t.equal(io.stdout.length, STEPS.length + 1);
  t.same(JSON.parse(io.stdout.at(-1) as string), { outcome: { outcome: 'committed', templateId: 'climate', version: '2.0.0', previous: '1.0.0' }, progress: STEPS });
});

t.test('--health-window below 1s, the floor of deploy.healthWindowMs, is a usage error: a window of 0 would commit unwatched', async (t) => {
  const io = captureIo();
  t.equal(await main(['deploy', 'x.osb', '--health-window', '0s'], io), 2);
  t.match(io.stderr.join('\n'), '--health-window must be a duration such as 30s or 2m (1s to 1h), not "0s"');
});
