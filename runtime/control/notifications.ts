/**
 * Server -> client notifications (JSON-RPC requests without an id). Kept apart from protocol.ts, whose method
 * table is the request contract; these only flow on a connection that asked for them: `logs.follow`, or a
 * `deploy.apply` / `deploy.rollback` in flight (its progress, sent before its response).
 */
import type { DeployProgress } from '../deploy/deploy-types.ts';
import type { LogLine } from './protocol.ts';

export const Notifications = {
  /** params: a LogLine of a followed agent. */
  LOG_LINE: 'logs.line',
  /** params: LogsDropped; the client read too slowly and the server dropped lines rather than buffer them. */
  LOGS_DROPPED: 'logs.dropped',
  /** params: a DeployProgress of the deployment this connection's request runs; the response still lists them all. */
  DEPLOY_PROGRESS: 'deploy.progress',
} as const;

export interface LogsDropped {
  dropped: number;
}

export interface NotificationParams {
  'logs.line': LogLine;
  'logs.dropped': LogsDropped;
  'deploy.progress': DeployProgress;
}
