/**
 * An infrastructure plugin (spec 002 phase 1.2): the state DB, the embedded broker, the MQTT link, the dashboard.
 * The daemon starts them in order and stops them in reverse (runtime/daemon/infrastructure.ts); the interface sits
 * in the base so the services that implement it do not import the daemon (docs/ARCHITECTURE.md "Layers").
 */
export interface InfrastructurePlugin {
  readonly name: string;
  start(): Promise<void>;
  /** Must be idempotent and must not throw for a plugin that never started. */
  stop(): Promise<void>;
}
