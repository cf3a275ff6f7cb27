/**
 * The agent host inside QuickJS: what runtime/isolation/host/agent-host.ts does in a worker, minus the Node parts.
 * Bundled by esbuild at spawn together with the template's plugins (../agent-bundler.ts): the generated entry
 * imports this module first (so the globals exist before any plugin module body runs), then the plugins, then
 * calls runAgentInVm with their namespaces.
 *
 * The channel port is the host functions: post() hands the encoded message to the worker, the worker calls the
 * registered deliver() with the daemon's messages. Keep-alive and exit are host calls too (host-api.ts).
 */
import { host } from './host-api.ts';
import './process-facade.ts';
import './timers-console.ts';
import './web-globals.ts';
import './web-streams.ts';
import { deepFreeze } from '../../../core/deep-freeze.ts';
import { AgentCore } from '../../../core/agent-core.ts';
import { ChannelEndpoint } from '../../../core/channel-endpoint.ts';
import { isolateNote } from '../../../core/channel-methods.ts';
import type { IsolateSide } from '../../../core/channel-methods.ts';
import type { IChannelPort, LifecycleNote } from '../../../core/channel-messages.ts';
import { ErrorCode, OpenStarryError, errorToWire } from '../../../core/errors.ts';
import type { IPlugin, JsonValue } from '../../../core/plugin.ts';
import { pluginShapeProblem } from '../../../core/plugin.ts';
import { HalProxy } from '../../../../hal/hal-proxy.ts';
import { decodeMessage, encodeMessage } from '../message-codec.ts';
import { DEFAULT_MAX_MESSAGE_BYTES, TOO_LARGE_NOTE, messageSizeOver, tooLargeReason } from '../../message-cap.ts';

export interface VmBootstrap {
  pid: string;
  agentId: string;
  config: Record<string, JsonValue>;
  maxMessageBytes?: number;
}

export type PluginModule = readonly [path: string, namespace: Record<string, unknown>];

export function runAgentInVm(modules: readonly PluginModule[]): void {
  const bootstrap = JSON.parse(host.bootstrap()) as VmBootstrap;
  const receivers: ((message: unknown) => void)[] = [];
  const port: IChannelPort = {
    post: (message) => {
      // Measured before encoding: a 200 MB message must not be built as JSON inside the VM's memory first. Over the
      // cap, only the small report goes out; the host (quickjs-vm.ts) ends the VM as message-too-large. The host
      // measures every post again from its handles, so agent code that tampers with this gains nothing.
      const cap = bootstrap.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
      const over = messageSizeOver(message, cap);
      if (over !== undefined) {
        host.post(JSON.stringify(isolateNote(TOO_LARGE_NOTE, { bytes: over, cap })));
        throw new Error(tooLargeReason(over, cap));
      }
      const { json, buffers } = encodeMessage(message);
      host.post(json, ...buffers);
    },
    onMessage: (handler) => {
      receivers.push(handler);
    },
    close: () => undefined,
  };
  host.onDeliver((json, ...buffers) => {
    const message = decodeMessage(json, buffers);
    for (const r of receivers) r(message);
  });
  void run(bootstrap, modules, port);
}

async function run(bootstrap: VmBootstrap, modules: readonly PluginModule[], port: IChannelPort): Promise<void> {
  let referenced = true; // the host starts the agent referenced, like the worker entry
  const channel = new ChannelEndpoint<IsolateSide>(port, {
    onPendingChange: (n) => {
      const busy = n > 0;
      if (busy === referenced) return;
      referenced = busy;
      host.keepAlive(busy);
    },
    maxInFlight: 64,
  });
  const lifecycle = (note: LifecycleNote) => channel.notify('lifecycle', note);
  const crash = (err: unknown) => {
    lifecycle({ state: 'crashed', error: errorToWire(err) });
    host.exit(1);
  };

  let plugins: IPlugin[];
  try {
    plugins = modules.map(([path, ns]) => {
      const problem = pluginShapeProblem(ns.default);
      if (problem) throw new OpenStarryError(ErrorCode.PLUGIN_INVALID, `plugin ${path}: ${problem} (expected export default { name, start(ctx), stop?(ctx) })`);
      return ns.default as IPlugin;
    });
  } catch (err) {
    crash(err);
    return;
  }

  const hal = new HalProxy(channel, (message) => channel.notify('log', { level: 'error', message }));
  const initialState = await channel.request('state.load').catch(() => undefined);
  const core = new AgentCore({
    agentId: bootstrap.agentId,
    config: deepFreeze(bootstrap.config),
    plugins,
    channel,
    hal,
    ...(initialState === undefined || initialState === null ? {} : { initialState }),
  });
  channel.handle('agent.stop', async () => {
    await core.stop();
    lifecycle({ state: 'stopped' });
    // The host ends the agent after this turn, once the reply (posted when this handler resolves) is out.
    host.exit(0);
  });
  try {
    await core.start();
  } catch (err) {
    crash(err);
    return;
  }
  lifecycle({ state: 'running' });
  if (channel.pending === 0 && referenced) {
    referenced = false;
    host.keepAlive(false);
  }
}
