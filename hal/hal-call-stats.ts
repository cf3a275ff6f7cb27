/**
 * HAL calls and refusals counted by device and operation (issue 15, README "Prometheus", `/metrics`; shown by
 * `openstarry status --json` as `hal.calls`). One cheap Map entry per (device, operation) pair that was ever
 * called; nothing is kept per call.
 *
 * Cardinality is bounded by the config, not by agent code: a device id an agent made up (a denied call names any
 * string it likes) is counted under UNKNOWN_DEVICE, and the operations and refusal reasons are fixed lists (the
 * reasons are error-registry codes, runtime/core/error-registry.ts).
 */
import { isOpenStarryError } from '../runtime/core/errors.ts';

/** The operations counted: an agent's HAL calls (hal-service.ts attach()) and an operator's command. */
export const HAL_OPERATIONS = ['read', 'control', 'watch', 'camera.open', 'serial.open', 'serial.write', 'operator.control'] as const;
export type HalOperation = (typeof HAL_OPERATIONS)[number];

/** The device label of a call whose device is not in the registry (or could not be resolved). */
export const UNKNOWN_DEVICE = '(unknown)';
/** The reason of a failure that is not an OpenStarryError (a driver's own exception). */
export const DRIVER_ERROR = 'driver-error';

export interface HalCallRow {
  device: string;
  operation: HalOperation;
  /** Calls made, refused ones included. */
  calls: number;
  /** Refused or failed calls by reason: an error code (ERR_CAPABILITY_DENIED, ERR_RATE_LIMITED, ...) or `driver-error`. */
  refused: Record<string, number>;
}

export class HalCallStats {
  readonly #rows = new Map<string, HalCallRow>();
  readonly #known: (deviceId: string) => boolean;

  /** `known` says whether a device id is in the registry (anything else is counted as UNKNOWN_DEVICE). */
  constructor(known: (deviceId: string) => boolean) {
    this.#known = known;
  }

  /** Counts one call; returns what to call with the outcome when it is refused or fails. */
  call(device: string | undefined, operation: HalOperation): (err: unknown) => void {
    const row = this.#row(device !== undefined && this.#known(device) ? device : UNKNOWN_DEVICE, operation);
    row.calls += 1;
    return (err) => {
      const reason = isOpenStarryError(err) ? err.code : DRIVER_ERROR;
      row.refused[reason] = (row.refused[reason] ?? 0) + 1;
    };
  }

  /** Wraps one call: counted, and its rejection (or throw) counted as a refusal before it goes on to the caller. */
  async count<T>(device: string | undefined, operation: HalOperation, body: () => T | Promise<T>): Promise<T> {
    const refused = this.call(device, operation);
    try {
      return await body();
    } catch (err) {
      refused(err);
      throw err;
    }
  }

  /** Every pair called so far, sorted by device then operation (copies). */
  rows(): HalCallRow[] {
    return [...this.#rows.values()]
      .map((r) => ({ ...r, refused: { ...r.refused } }))
      .sort((a, b) => (a.device === b.device ? HAL_OPERATIONS.indexOf(a.operation) - HAL_OPERATIONS.indexOf(b.operation) : a.device < b.device ? -1 : 1));
  }

  #row(device: string, operation: HalOperation): HalCallRow {
    const key = `${device}\u0000${operation}`;
    let row = this.#rows.get(key);
    if (!row) {
      row = { device, operation, calls: 0, refused: {} };
      this.#rows.set(key, row);
    }
    return row;
  }
}
