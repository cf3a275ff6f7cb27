/**
 * `openstarry design-layer serve --dir D [--listen HOST:PORT]`: the remote design-layer service (spec 002 phase 2),
 * serving a folder of templates to daemons configured with `templates.url`. Runs in the foreground until
 * SIGINT/SIGTERM (exit 0). No daemon is needed; it does not use the control socket.
 */
import path from 'node:path';
import type { Command } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';
import { splitHostPort } from '../../validation.ts';

/** `HOST:PORT`, `:PORT` or `PORT`; IPv6 hosts in brackets (`[::1]:7410`). */
export function parseListen(raw: string): { host: string; port: number } {
  const hp = splitHostPort(raw, { hostOptional: true });
  if (!hp) throw new UsageError(`design-layer: --listen must be HOST:PORT (e.g. 0.0.0.0:7410), not "${raw}"`);
  return { host: hp.host ?? '127.0.0.1', port: hp.port };
}

export const designLayer: Command = {
  name: 'design-layer',
  summary: 'serve a template folder as the remote design layer (daemons set templates.url to it)',
  synopsis: 'design-layer serve --dir DIR [--bundles DIR] [--listen HOST:PORT]',
  details: [
    '',
    '  --dir DIR           the template folder: one sub-folder per template with agent.json and its modules',
    '  --bundles DIR       also serve the signed bundles (*.osb, from `openstarry deploy pack`) in this folder',
    '  --listen HOST:PORT  address to serve on (default 127.0.0.1:7410; 0.0.0.0:7410 for other machines)',
    '',
    'GET /templates lists the valid templates (id, version, hash) and the invalid ones with their errors;',
    'GET /templates/<id> sends one template. The folder is read on every request.',
    'With --bundles: GET /bundles/<id> lists its versions, GET /bundles/<id>/<version> sends one bundle.',
  ],
  options: { dir: { type: 'string' }, bundles: { type: 'string' }, listen: { type: 'string' } },
  args: [1, 1],
  async run(ctx) {
    if (ctx.args[0] !== 'serve') throw new UsageError(`design-layer: unknown subcommand "${ctx.args[0] ?? ''}" (only "serve")`);
    const dirFlag = stringOption(ctx.options, 'dir');
    if (dirFlag === undefined) throw new UsageError('design-layer serve: --dir DIR is required');
    const { host, port } = parseListen(stringOption(ctx.options, 'listen') ?? '127.0.0.1:7410');
    const dir = path.resolve(ctx.io.cwd, dirFlag);
    const { DesignLayerServer } = await import('../../design/design-layer-server.ts');
    const bundlesFlag = stringOption(ctx.options, 'bundles');
    const bundles = bundlesFlag === undefined ? undefined : path.resolve(ctx.io.cwd, bundlesFlag);
    const server = await DesignLayerServer.listen({ dir, host, port, log: (line) => ctx.io.err(line), ...(bundles === undefined ? {} : { bundles }) });
    const scan = server.initial;
    ctx.io.out(`design layer serving ${scan.templates.size} template(s) from ${dir} on ${server.url}`);
    for (const bad of scan.invalid) ctx.io.err(`invalid (not served): ${bad.error}`);
    const served = server.initialBundles;
    if (served) ctx.io.out(`and ${[...served.bundles.values()].reduce((n, v) => n + v.size, 0)} bundle(s) of ${served.bundles.size} template(s) from ${bundles}`);
    for (const bad of served?.invalid ?? []) ctx.io.err(`not a bundle (not served): ${bad.error}`);
    await new Promise<void>((resolve) => {
      const stop = ctx.io.onInterrupt(() => {
        stop();
        resolve();
      });
    });
    await server.close();
    return ExitCode.OK;
  },
};
