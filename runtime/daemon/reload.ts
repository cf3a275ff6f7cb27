/**
 * `systemctl reload openstarryd` (the unit's ExecReload sends SIGHUP, systemd.service(5)) and `openstarry reload`:
 * the rules file, the local templates and the dashboard's token file are read and validated again while everything
 * keeps running.
 *   - rules: all or nothing. A file with errors leaves the running rules in place; every problem is logged and
 *     reported as `file: field: reason`, the lines `openstarry validate` prints for the same file.
 *   - templates: the directory is scanned again. New ones appear, removed ones go, changed ones apply to agents
 *     spawned afterwards (running agents keep their frozen blueprint); one that stopped validating keeps its last
 *     good version and is reported (TemplateStore.reloadLocal).
 * Reloads never overlap: a request while one runs is answered by one more run after it (several such requests
 * share that run), so an edit saved between two SIGHUPs is always picked up.
 *
 * The unit stays Type=notify: RELOADING=1 / READY=1 belong to Type=notify-reload (systemd 253), and Debian 12 and
 * Raspberry Pi OS bookworm ship 252, so none is sent; `openstarry status` shows the outcome instead.
 */
import type { Clock } from '../clock.ts';
import type { ReloadReport, TokenReload } from '../control/protocol.ts';
import type { LocalReload } from '../design/template-store.ts';
import { errorToWire } from '../errors.ts';
import type { Logger } from '../logging/logger.ts';
import type { RuleSet } from '../orchestrator/rules-schema.ts';

export interface ReloadDeps {
  /** The orchestration hub: reads and swaps in the rules file (undefined: none configured; throws ERR_RULES_INVALID). */
  rules: { reloadRules(): Promise<RuleSet | undefined>; readonly rulesFile: string | undefined; readonly ruleCount: number };
  /** The template store: scans the local directory again. */
  store: { reloadLocal(): Promise<LocalReload>; list(): readonly unknown[] };
  /** After a template scan: the registry in the state DB follows it, as at boot (a throw is logged). */
  templatesReloaded(): void;
  /** The running dashboard, whose token file is read again (DashboardServer.reloadToken); absent: no dashboard. */
  dashboard?: { reloadToken(): Promise<Exclude<TokenReload, 'kept'>> };
  log: Logger;
  clock: Clock;
}

/** A validation message as lines: it holds one `file: field: reason` line per problem. */
function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

const messageOf = (err: unknown): string[] => lines(errorToWire(err).message);

export class Reloader {
  readonly #deps: ReloadDeps;
  #running: Promise<ReloadReport> | undefined;
  #queued: Promise<ReloadReport> | undefined;
  #last: ReloadReport | undefined;

  constructor(deps: ReloadDeps) {
    this.#deps = deps;
  }

  /** The last finished reload, for `status`. */
  get last(): ReloadReport | undefined {
    return this.#last;
  }

  /** Runs a reload now, or once more after the one running (requests meanwhile share that run). Never rejects. */
  request(trigger: ReloadReport['trigger']): Promise<ReloadReport> {
    if (this.#queued) return this.#queued;
    if (this.#running) {
      this.#deps.log.info(`reload requested (${trigger}) while one runs: it runs again right after`);
      this.#queued = this.#running.then(() => {
        this.#queued = undefined;
        return this.#start(trigger);
      });
      return this.#queued;
    }
    return this.#start(trigger);
  }

  #start(trigger: ReloadReport['trigger']): Promise<ReloadReport> {
    const run = this.#reload(trigger).finally(() => {
      if (this.#running === run) this.#running = undefined;
    });
    this.#running = run;
    return run;
  }

  async #reload(trigger: ReloadReport['trigger']): Promise<ReloadReport> {
    const { log } = this.#deps;
    log.info(`reloading the rules file, the local templates and the dashboard token (${trigger === 'signal' ? 'SIGHUP' : 'openstarry reload'})`);
    const errors: string[] = [];
    let replaced = false;
    try {
      replaced = (await this.#deps.rules.reloadRules()) !== undefined;
    } catch (err) {
      errors.push(...messageOf(err));
      log.warn('rules file not reloaded: the running rules stay in force');
    }
    let changes: LocalReload | undefined;
    try {
      changes = await this.#deps.store.reloadLocal();
      errors.push(...changes.invalid.flatMap((bad) => lines(bad.error)));
    } catch (err) {
      errors.push(...messageOf(err));
      log.warn('templates not reloaded: the current set stays');
    }
    if (changes) {
      try {
        this.#deps.templatesReloaded();
      } catch (err) {
        log.warn(`registry not recorded: ${(err as Error).message}`);
      }
    }
    let token: TokenReload | undefined;
    if (this.#deps.dashboard) {
      try {
        token = await this.#deps.dashboard.reloadToken();
      } catch (err) {
        token = 'kept';
        errors.push(...messageOf(err));
        log.warn('dashboard token not reloaded: the current one stays');
      }
    }
    for (const e of errors) log.warn(`reload: ${e}`);
    const report: ReloadReport = {
      at: new Date(this.#deps.clock.now()).toISOString(),
      trigger,
      ok: errors.length === 0,
      errors,
      rules: { file: this.#deps.rules.rulesFile ?? '(no rules file)', count: this.#deps.rules.ruleCount, replaced },
      templates: {
        valid: this.#deps.store.list().length,
        added: changes?.added ?? [],
        changed: changes?.changed ?? [],
        removed: changes?.removed ?? [],
        kept: changes?.kept ?? [],
      },
      ...(token === undefined ? {} : { dashboard: { token } }),
    };
    const t = report.templates;
    const summary = `${report.rules.count} rule(s) from ${report.rules.file}${replaced ? '' : ' (unchanged)'}; ${t.valid} template(s)` +
      `${t.added.length ? `, added ${t.added.join(' ')}` : ''}${t.changed.length ? `, changed ${t.changed.join(' ')}` : ''}` +
      `${t.removed.length ? `, removed ${t.removed.join(' ')}` : ''}${t.kept.length ? `, last good version kept for ${t.kept.join(' ')}` : ''}`;
    if (report.ok) log.info(`reloaded: ${summary}`);
    else log.warn(`reloaded with ${errors.length} problem(s): ${summary}`);
    this.#last = report;
    return report;
  }
}
