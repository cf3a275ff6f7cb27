/**
 * IHAL as agents see it (spec 000 §4, README "Writing an agent"): the only way an agent reaches hardware. Every call crosses
 * the channel to the daemon, which checks the agent's capability grants and the device's safety envelope before
 * any driver is touched. Pure types (no node:*): the same API in a worker, a process, a container and QuickJS.
 */

/** An edge on an input device (PIR, button), debounced by the driver. */
export interface HalInputEdge {
  edge: 'rising' | 'falling';
  value: 0 | 1;
  /** Daemon-side monotonic ms when the edge was seen. */
  at: number;
}

/**
 * A byte stream to a serial device, as a web-streams pair (the "duplex" of WHATWG streams): read what the
 * device sends from `readable`, write to `writable`. `close()` releases the port for other agents.
 */
export interface HalSerialStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): Promise<void>;
}

export interface IHAL {
  /**
   * One fresh reading. `sensorType` is a quantity (`temperature`: the first granted sensor that measures it) or
   * `<device>.<quantity>` (`env0.humidity`). Needs `sensor:<device|quantity>:read`.
   */
  getSensorData(sensorType: string): Promise<number>;
  /** Needs `actuator:<device>:control`; the command must be inside the device's envelope and rate limit. */
  controlActuator(deviceId: string, command: string | number | boolean): Promise<void>;
  /**
   * Live JPEG frames, one complete image per chunk. Pull-based: the daemon sends the newest frame each time the
   * stream asks for one, so a slow reader skips frames instead of queueing them. Needs `camera:<device>:stream`.
   */
  getCameraStream(deviceId: string): ReadableStream<Uint8Array>;
  /** Edges of an input device until the returned function is called. Needs `gpio:<device>:watch`. */
  watch(deviceId: string, listener: (edge: HalInputEdge) => void): () => void;
  /** Needs `serial:<device>:open`; one agent at a time per port. */
  openSerial(deviceId: string): Promise<HalSerialStream>;
}
