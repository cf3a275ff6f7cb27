/// <reference lib="dom" />
/**
 * The dashboard page's entry (README "Dashboard"; issue 15): one EventSource on /api/stream and nothing polled.
 * The browser reconnects it by itself (the server's `retry:`), which brings the page back after a daemon restart;
 * a stream refused with 503 (too many pages open) is tried again after a pause. Actions send the token from
 * sessionStorage as `Authorization: Bearer` (no cookie: no CSRF; gone when the tab closes).
 */
import { h, render } from 'preact';
import type { History, Sample, Snapshot } from './model.ts';
import { addSample } from './model.ts';
import type { ViewState } from './views.ts';
import { Page } from './views.ts';

const TOKEN_KEY = 'openstarry-dashboard-token';
const root = document.getElementById('app')!;
const state: ViewState = { snapshot: undefined, history: {}, connection: 'connecting', token: sessionStorage.getItem(TOKEN_KEY) ?? '', message: '', now: Date.now() };
let serverOffset = 0; // server clock - browser clock, so charts end at the server's "now"

const actions = {
  spawn: (template: string) => void call('POST', '/api/agents', { template }),
  kill: (pid: string) => void call('DELETE', `/api/agents/${encodeURIComponent(pid)}`),
  control: (deviceId: string, command: string) => void call('POST', `/api/devices/${encodeURIComponent(deviceId)}/control`, { command }),
  setToken(token: string) {
    state.token = token;
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
    state.message = '';
    draw();
  },
};

function draw(): void {
  state.now = Date.now() + serverOffset;
  render(h(Page, { s: state, act: actions }), root);
}

async function call(method: string, path: string, body?: unknown): Promise<void> {
  state.message = `${method} ${path}…`;
  draw();
  try {
    const res = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${state.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      credentials: 'omit',
      cache: 'no-store',
    });
    const answer = (await res.json().catch(() => ({}))) as { error?: string; agentId?: string };
    if (res.status === 401) actions.setToken('');
    state.message = res.ok ? `done: ${method} ${path}${answer.agentId ? ` (${answer.agentId})` : ''}` : `refused (${res.status}): ${answer.error ?? res.statusText}`;
  } catch (err) {
    state.message = `failed: ${(err as Error).message}`;
  }
  draw();
}

function connect(): void {
  const source = new EventSource('/api/stream');
  source.addEventListener('open', () => {
    state.connection = 'live';
    draw();
  });
  source.addEventListener('snapshot', (e) => {
    const snap = JSON.parse((e as MessageEvent<string>).data) as Snapshot & { history?: History };
    if (snap.history) state.history = snap.history;
    delete snap.history;
    serverOffset = Date.parse(snap.at) - Date.now();
    state.snapshot = snap;
    state.connection = 'live';
    draw();
  });
  source.addEventListener('sample', (e) => {
    const sample = JSON.parse((e as MessageEvent<string>).data) as Sample;
    addSample(state.history, sample);
    const device = state.snapshot?.devices.find((d) => d.id === sample.deviceId);
    if (device) device.value = { ...(device.value as object), ...sample.values };
    draw();
  });
  source.addEventListener('error', () => {
    state.connection = 'reconnecting';
    draw();
    // CLOSED: the server refused the stream (503, too many pages); the browser will not retry that by itself.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 10_000);
  });
}

connect();
draw();
