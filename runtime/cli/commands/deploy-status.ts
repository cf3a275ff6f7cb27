/**
 * `openstarry deploy status --broker URL [--group G] [--prefix openstarry] [--timeout 3s] [--username U
 * --password-file F] [--json]` (README "Deploying updates"): the fleet's table from the retained status topics. It
 * talks to the MQTT broker, not to a daemon, so it runs from any machine that reaches the broker. mqtt.js and the
 * table's schemas are loaded with import() here only (issue 12: `openstarry ps` loads neither).
 *
 * Exit codes: 0 the table printed and no board of it reports `rolled-back`, `refused` or an unreadable status; 1 when
 * one does (a script can gate on it), or the group has no board; 2 usage; 3 the broker did not answer
 * (ERR_FLEET_BROKER_UNREACHABLE). A board still `pending`, `staged` or without a status yet exits 0: it is shown.
 * What runs is in deploy-status-run.ts, loaded when the command runs: every other command's start parses none of it.
 */
import type { CommandContext } from '../args.ts';

export const DEPLOY_STATUS_OPTIONS = {
  broker: { type: 'string' },
  group: { type: 'string' },
  prefix: { type: 'string' },
  timeout: { type: 'string' },
  username: { type: 'string' },
  'password-file': { type: 'string' },
} as const;

export const DEPLOY_STATUS_USAGE = [
  '  deploy status --broker URL [--group G] [--prefix openstarry] [--timeout 3s]',
  '                [--username U --password-file FILE]',
  "                      the fleet's table from the broker's retained deploy/status topics (no daemon needed);",
  '                      --prefix: the boards\' mqtt.topicPrefix root (farm for farm/<deviceId>/);',
  '                      exit 0 table printed, 1 a board rolled-back/refused (or no board in the group),',
  '                      3 broker not reachable',
] as const;

export async function runDeployStatus(ctx: CommandContext): Promise<number> {
  return (await import('./deploy-status-run.ts')).runDeployStatus(ctx);
}
