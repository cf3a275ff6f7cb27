/**
 * What the daemon lends the dashboard's page (runtime/dashboard/dashboard-feed.ts `DashboardDaemon`; issue 15): the
 * same reads and actions as the control plane, so the page can do nothing `openstarry` cannot, and an actuator is
 * switched only through HalService.operatorControl (the HAL's envelope, rate limit and ownership; hal/hal-service.ts).
 * The dashboard starts before the HAL and the supervisor exist: each method reads the daemon at call time and
 * answers ERR_NOT_READY until the part is there.
 */
import type { HalService } from '../../hal/hal-service.ts';
import type { DaemonApi } from '../control/protocol.ts';
import type { DashboardDaemon, SampleFeed } from '../dashboard/dashboard-feed.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';

export function bindDashboard(o: {
  api: Pick<DaemonApi, 'status' | 'listAgents' | 'listDevices' | 'listTemplates' | 'spawnAgent' | 'killAgent'>;
  hal: () => HalService | undefined;
  samples: () => SampleFeed | undefined;
}): DashboardDaemon {
  const { api } = o;
  return {
    status: () => api.status() as unknown as Record<string, unknown>,
    agents: () => api.listAgents(),
    devices: () => api.listDevices(),
    templates: () => api.listTemplates().templates.map((t) => t.id),
    spawn: (template) => Promise.resolve(api.spawnAgent(template, {})),
    kill: (pid) => Promise.resolve(api.killAgent(pid, 'SIGTERM')),
    control: (deviceId, command) => {
      const hal = o.hal();
      if (!hal) return Promise.reject(new OpenStarryError(ErrorCode.NOT_READY, 'the HAL is not open yet'));
      return hal.operatorControl(deviceId, command, 'dashboard');
    },
    samples: o.samples,
  };
}
