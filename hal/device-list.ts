/** One row of `openstarry devices` (README): a device the HAL holds, its state and last value. */
export interface DeviceListEntry {
  id: string;
  kind: string;
  driver: string;
  /** From the board profile (e.g. the sim board's defaults) or the config's devices[]. */
  origin: 'board' | 'config';
  state: 'ok' | 'failed';
  /** Last reading map, actuator state or input level. */
  value?: unknown;
  updatedAt?: string;
  error?: string;
  /** The live agent that owns it (an actuator's controller, a serial port's opener). */
  owner?: { pid: string; agentId: string };
}
