/**
 * Server -> client notifications (JSON-RPC requests without an id). Kept apart from protocol.ts, whose method
 * table is the request contract; these only flow on a connection that asked for them with `logs.follow`.
 */
import type { LogLine } from './protocol.ts';

export const Notifications = {
  /** params: a LogLine of a followed agent. */
  LOG_LINE: 'logs.line',
  /** params: LogsDropped; the client read too slowly and the server dropped lines rather than buffer them. */
  LOGS_DROPPED: 'logs.dropped',
} as const;

export interface LogsDropped {
  dropped: number;
}

export interface NotificationParams {
  'logs.line': LogLine;
  'logs.dropped': LogsDropped;
}
