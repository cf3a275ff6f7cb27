/**
 * Status shapes of the daemon's services as `openstarry status` sends them (DaemonStatus in protocol.ts): the
 * systemd notifications and watchdog, and the embedded broker's guard. They are wire shapes, so they live with the
 * wire contract; runtime/daemon/systemd-service.ts and runtime/link/broker-policy.ts fill them and re-export them
 * (docs/ARCHITECTURE.md "Layers": control imports neither the daemon nor the link).
 */

export type NotifyTransport = 'addon' | 'systemd-notify' | 'off';

export type WatchdogStatus =
  | { state: 'off'; reason: string }
  | {
      state: 'idle' | 'pinging' | 'withheld' | 'stopped';
      intervalMs: number;
      periodMs: number;
      maxLagMs: number;
      pings: number;
      lastPingAt?: string;
      /** Why pings are withheld (state withheld), or why the last one failed to send. */
      reason?: string;
    };

export interface SystemdStatus {
  notify: NotifyTransport;
  /** Why the addon is not used, when notifications fork systemd-notify. */
  notifyFallback?: string;
  watchdog: WatchdogStatus;
}

export type Refusal = 'packetTooLarge' | 'connections' | 'clientId' | 'credentials' | 'topic' | 'rate' | 'retained' | 'read';

export interface BrokerGuardStatus {
  /** Retained messages the broker holds (the board's own included) and their topic + payload bytes. */
  retained: { messages: number; bytes: number };
  /**
   * Refused connects, publishes and oversized packets by reason, each of which closed the offender's connection;
   * and `read`: messages not delivered to a local client because the ACL does not let it read their topic.
   */
  refused: Record<Refusal, number>;
}
