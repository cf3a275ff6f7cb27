/**
 * Error registry of drivers/ (DESIGN §5.3). Bus and chip errors carry these codes so the HAL can map them to
 * what an agent sees without parsing messages; `cause` keeps the binding's own error (errno, etc.).
 */
export const DriverErrorCode = {
  /** The bus, line or port could not be opened (missing device node, permission, already exported...). */
  OPEN_FAILED: 'ERR_DRIVER_OPEN_FAILED',
  /** An I/O operation failed after the bounded retries (EIO, EREMOTEIO, ETIMEDOUT, NACK). */
  IO: 'ERR_DRIVER_IO',
  /** The chip answered, but not as the datasheet says (wrong chip id, bad CRC, calibration out of range). */
  BAD_DEVICE: 'ERR_DRIVER_BAD_DEVICE',
  /** Arguments outside what the bus or chip accepts (address > 0x7f, register > 0xff, length 0...). */
  INVALID_ARGUMENT: 'ERR_DRIVER_INVALID_ARGUMENT',
  /** The handle was closed; pending and later operations fail with this. */
  CLOSED: 'ERR_DRIVER_CLOSED',
  /** A read did not complete in time (serial read, camera frame, sensor conversion). */
  TIMEOUT: 'ERR_DRIVER_TIMEOUT',
  /** The real binding cannot run here (no native addon, no kernel support). */
  UNAVAILABLE: 'ERR_DRIVER_UNAVAILABLE',
} as const;

export type DriverErrorCodeName = (typeof DriverErrorCode)[keyof typeof DriverErrorCode];

export class DriverError extends Error {
  override readonly name = 'DriverError';
  readonly code: DriverErrorCodeName;

  constructor(code: DriverErrorCodeName, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }
}
