/**
 * `openstarry deploy ...` (README "Deploying updates"). `pack` signs a template into a bundle and needs no daemon
 * (deploy-pack.ts); the board's own subcommands (deploy a bundle, list, rollback) go through the control socket.
 */
import type { Command } from '../args.ts';
import { UsageError } from '../args.ts';
import { DEPLOY_PACK_OPTIONS, DEPLOY_PACK_USAGE, runDeployPack } from './deploy-pack.ts';

export const deploy: Command = {
  name: 'deploy',
  summary: 'signed template deployments: pack a bundle',
  synopsis: 'deploy pack <templateDir> --key KEY.pem [-o FILE]',
  details: ['', ...DEPLOY_PACK_USAGE],
  options: { ...DEPLOY_PACK_OPTIONS },
  args: [1, 2],
  async run(ctx) {
    if (ctx.args[0] === 'pack') return runDeployPack(ctx);
    throw new UsageError(`deploy: unknown subcommand "${ctx.args[0] ?? ''}" (pack)`);
  },
};
