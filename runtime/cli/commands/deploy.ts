/**
 * `openstarry deploy ...` (README "Deploying updates"). `pack` signs a template into a bundle and needs no daemon
 * (deploy-pack.ts); the board's own subcommands (deploy a bundle, list, rollback) go through the control socket;
 * `status` reads the fleet's table from the MQTT broker (deploy-status.ts).
 */
import type { Command } from '../args.ts';
import { UsageError } from '../args.ts';
import { DEPLOY_PACK_OPTIONS, DEPLOY_PACK_USAGE, runDeployPack } from './deploy-pack.ts';
import { DEPLOY_BOARD_OPTIONS, DEPLOY_BOARD_USAGE, runDeployApply, runDeployList, runDeployRollback } from './deploy-board.ts';
import { DEPLOY_STATUS_OPTIONS, DEPLOY_STATUS_USAGE, runDeployStatus } from './deploy-status.ts';

export const deploy: Command = {
  name: 'deploy',
  summary: 'signed template deployments: pack a bundle, deploy it on this board, list, roll back, watch a fleet',
  synopsis: 'deploy pack <templateDir> --key KEY.pem [-o FILE] | deploy <bundle | templateId@version> | deploy list | deploy rollback <templateId> | deploy status --broker URL',
  details: ['', ...DEPLOY_PACK_USAGE, ...DEPLOY_BOARD_USAGE, ...DEPLOY_STATUS_USAGE],
  options: { ...DEPLOY_PACK_OPTIONS, ...DEPLOY_BOARD_OPTIONS, ...DEPLOY_STATUS_OPTIONS },
  args: [1, 2],
  async run(ctx) {
    if (ctx.args[0] === 'pack') return runDeployPack(ctx);
    if (ctx.args[0] === 'list') return runDeployList(ctx);
    if (ctx.args[0] === 'rollback') return runDeployRollback(ctx);
    if (ctx.args[0] === 'status') return runDeployStatus(ctx);
    if (ctx.args[0] !== undefined) return runDeployApply(ctx);
    throw new UsageError('deploy: a bundle, templateId@version, list, rollback, status or pack');
  },
};
