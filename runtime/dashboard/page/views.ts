/// <reference lib="dom" />
/**
 * The page's sections (issue 15 "The page"): board and health, agents, devices, sensor charts, rules, the MQTT link
 * and the last events. preact + htm: tagged templates instead of JSX, so the page needs no JSX build step, and the
 * two weigh ~5 KB gzipped together. Buttons exist only with a token in hand (`canAct` and a stored token).
 */
import { html } from 'htm/preact';
import type { AgentRow, DeviceRow, History, Snapshot, Status } from './model.ts';
import { formatBytes, formatDuration, formatValue, round, WINDOW_MS } from './model.ts';
import { sparkline } from './sparkline.ts';

export interface Actions {
  spawn(template: string): void;
  kill(pid: string): void;
  control(deviceId: string, command: string): void;
  setToken(token: string): void;
}

export interface ViewState {
  snapshot: Snapshot | undefined;
  history: History;
  connection: 'connecting' | 'live' | 'reconnecting';
  token: string;
  message: string;
  now: number;
}

const LIVE = new Set(['starting', 'running', 'restarting', 'stopping']);

export function Page({ s, act }: { s: ViewState; act: Actions }) {
  const snap = s.snapshot;
  if (!snap) return html`<p class="muted">Connecting to the daemon… (${s.connection})</p>`;
  const armed = snap.canAct && s.token !== '';
  return html`
    <header>
      <h1>${snap.status?.deviceId ?? 'openstarry'}</h1>
      <span class=${`pill ${s.connection}`} id="connection">${s.connection === 'live' ? 'live' : s.connection}</span>
      <${TokenBox} canAct=${snap.canAct} token=${s.token} act=${act} />
    </header>
    ${s.message ? html`<p class="message" id="message">${s.message}</p>` : null}
    <${Health} status=${snap.status} />
    <section>
      <h2>Agents</h2>
      <${Agents} agents=${snap.agents} armed=${armed} act=${act} />
      ${armed ? html`<${Spawn} templates=${snap.templates} act=${act} />` : null}
    </section>
    <section>
      <h2>Devices</h2>
      <${Devices} devices=${snap.devices} armed=${armed} act=${act} />
    </section>
    <section>
      <h2>Sensors, last 10 minutes</h2>
      <${Charts} history=${s.history} now=${s.now} />
    </section>
    <div class="columns">
      <section><h2>Rules</h2><${Rules} rules=${snap.rules} /></section>
      <section><h2>MQTT link</h2><${Link} link=${snap.status?.link} /></section>
    </div>
    <section>
      <h2>Last events</h2>
      ${snap.events.length === 0 ? html`<p class="muted">Nothing yet.</p>` : html`<ul class="events">${snap.events.map((e) => html`<li><time>${e.at.slice(11, 19)}</time> <span class=${`kind ${e.kind}`}>${e.kind}</span> ${e.text}</li>`)}</ul>`}
    </section>`;
}

function TokenBox({ canAct, token, act }: { canAct: boolean; token: string; act: Actions }) {
  if (!canAct) return html`<span class="muted">read-only (no dashboard.tokenFile)</span>`;
  if (token) return html`<button type="button" class="link" onClick=${() => act.setToken('')}>forget token</button>`;
  const submit = (e: Event) => {
    e.preventDefault();
    const input = (e.currentTarget as HTMLFormElement).elements.namedItem('token') as HTMLInputElement;
    act.setToken(input.value.trim());
  };
  return html`<form class="token" onSubmit=${submit}><input name="token" id="token" type="password" placeholder="token for actions" autocomplete="off" /><button type="submit">Use</button></form>`;
}

function Health({ status }: { status: Status | undefined }) {
  if (!status) return html`<section><p class="muted">Status not available yet.</p></section>`;
  const degraded = status.degraded ?? [];
  return html`<section class="health">
    <div class="facts">
      <div><b>state</b> <span class=${`pill ${status.state}`}>${status.state}</span></div>
      <div><b>version</b> ${status.version}</div>
      <div><b>board</b> ${status.board?.name ?? '?'}${status.board?.model ? ` (${status.board.model})` : ''}</div>
      <div><b>uptime</b> ${status.uptimeMs === undefined ? '–' : formatDuration(status.uptimeMs)}</div>
      <div><b>health</b> ${degraded.length === 0 ? html`<span class="pill ok">ok</span>` : degraded.map((d) => html`<span class="pill degraded">${d}</span> `)}</div>
    </div>
    <ol class="phases">${(status.phases ?? []).map((p) => html`<li class=${p.state} title=${p.detail ?? ''}>${p.name}${p.durationMs === undefined ? '' : ` ${Math.round(p.durationMs)} ms`}</li>`)}</ol>
  </section>`;
}

function Agents({ agents, armed, act }: { agents: AgentRow[]; armed: boolean; act: Actions }) {
  return html`<table id="agents">
    <thead><tr><th>agent</th><th>pid</th><th>state</th><th>isolation</th><th>CPU</th><th>memory</th><th>tokens</th><th>restarts</th><th>last reason</th>${armed ? html`<th></th>` : null}</tr></thead>
    <tbody>${agents.map((a) => html`<tr data-agent=${a.agentId}>
      <td>${a.agentId}</td><td class="mono">${a.pid}</td>
      <td><span class=${`pill ${a.state}`}>${a.state}</span>${a.quarantined ? html` <span class="pill degraded">quarantined</span>` : null}</td>
      <td>${a.isolation}</td><td class="num">${a.cpuPercent.toFixed(1)} %</td><td class="num">${formatBytes(a.memoryBytes)}</td>
      <td class="num">${a.tokensUsed}${a.tokensBudget ? ` / ${a.tokensBudget}` : ''}</td><td class="num">${a.restarts}</td><td class="reason">${a.reason ?? ''}</td>
      ${armed ? html`<td>${LIVE.has(a.state) ? html`<button type="button" class="danger" onClick=${() => act.kill(a.pid)}>kill</button>` : null}</td>` : null}
    </tr>`)}</tbody>
  </table>`;
}

function Spawn({ templates, act }: { templates: string[]; act: Actions }) {
  const submit = (e: Event) => {
    e.preventDefault();
    const select = (e.currentTarget as HTMLFormElement).elements.namedItem('template') as HTMLSelectElement;
    act.spawn(select.value);
  };
  return html`<form class="spawn" onSubmit=${submit}>
    <select name="template" id="template">${templates.map((t) => html`<option value=${t}>${t}</option>`)}</select>
    <button type="submit" id="spawn">Spawn</button>
  </form>`;
}

function Devices({ devices, armed, act }: { devices: DeviceRow[]; armed: boolean; act: Actions }) {
  return html`<table id="devices">
    <thead><tr><th>device</th><th>kind</th><th>driver</th><th>value</th><th>owner</th>${armed ? html`<th></th>` : null}</tr></thead>
    <tbody>${devices.map((d) => html`<tr data-device=${d.id}>
      <td>${d.id}</td><td>${d.kind}</td><td>${d.driver}</td>
      <td class="value">${d.state === 'failed' ? html`<span class="pill failed">failed</span> ${d.error ?? ''}` : formatValue(d.value)}</td>
      <td>${d.owner ? `${d.owner.agentId} (${d.owner.pid})` : ''}</td>
      ${armed ? html`<td>${d.kind === 'actuator' && !d.owner && d.state === 'ok' ? ['on', 'off'].map((c) => html`<button type="button" disabled=${d.value === c} onClick=${() => act.control(d.id, c)}>${c}</button> `) : null}</td>` : null}
    </tr>`)}</tbody>
  </table>`;
}

function Charts({ history, now }: { history: History; now: number }) {
  const cells = Object.entries(history).flatMap(([device, quantities]) =>
    Object.entries(quantities).map(([q, series]) => {
      const line = sparkline(series.at, series.values, { width: 200, height: 40, windowMs: WINDOW_MS, end: now });
      return html`<figure class="chart" data-series=${`${device}.${q}`}>
        <figcaption><b>${device}</b> ${q} <span class="last">${line ? round(line.last) : '–'}</span></figcaption>
        <svg viewBox="0 0 200 40" width="200" height="40" role="img" aria-label=${`${device} ${q}`}>${line ? html`<polyline points=${line.points} />` : null}</svg>
        ${line ? html`<div class="range">${round(line.min)} – ${round(line.max)}</div>` : null}
      </figure>`;
    }),
  );
  return cells.length === 0 ? html`<p class="muted">No sensor samples yet.</p>` : html`<div class="charts">${cells}</div>`;
}

function Rules({ rules }: { rules: Snapshot['rules'] }) {
  if (!rules) return html`<p class="muted">Rules not running yet.</p>`;
  const drops = Object.entries(rules.dropped).filter(([, n]) => n > 0);
  return html`<p>${rules.rules} rule(s), ${rules.eventsSeen} event(s) seen, ${rules.fired} fired${drops.length ? `, dropped: ${drops.map(([k, n]) => `${k} ${n}`).join(', ')}` : ', nothing dropped'}</p>
    ${rules.perRule.length === 0 ? null : html`<table><thead><tr><th>rule</th><th>on</th><th>fired</th><th>dropped</th></tr></thead><tbody>${rules.perRule.map((r) => html`<tr><td>${r.label}</td><td class="mono">${r.on}</td><td class="num">${r.fired}</td><td class="num">${Object.values(r.dropped).reduce((a, b) => a + b, 0)}</td></tr>`)}</tbody></table>`}`;
}

function Link({ link }: { link: Status['link'] }) {
  if (!link) return html`<p class="muted">No link.</p>`;
  return html`<div class="facts">
    <div><b>state</b> <span class=${`pill ${link.state}`}>${link.state}</span></div>
    ${link.url ? html`<div><b>broker</b> <span class="mono">${link.url}</span></div>` : null}
    <div><b>queue</b> ${link.queue?.queued ?? 0}</div>
    <div><b>dropped</b> ${(link.queue?.dropped ?? 0) + (link.queue?.expired ?? 0) + (link.droppedQos0 ?? 0)}</div>
    ${link.lastError ? html`<div class="reason">${link.lastError}</div>` : null}
  </div>`;
}
