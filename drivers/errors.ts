/**
 * The drivers' error codes under the short names driver code uses (`DriverErrorCode.IO` is `ErrorCode.DRIVER_IO`):
 * a view of the one registry, runtime/core/error-registry.ts, which declares them. Bus and chip errors carry these
 * codes so the HAL can map them to what an agent sees without parsing messages; `cause` keeps the binding's own
 * error (errno, etc.).
 */
import { ErrorCode, OpenStarryError } from '../runtime/core/errors.ts';

export const DriverErrorCode = {
  OPEN_FAILED: ErrorCode.DRIVER_OPEN_FAILED,
  IO: ErrorCode.DRIVER_IO,
  BAD_DEVICE: ErrorCode.DRIVER_BAD_DEVICE,
  INVALID_ARGUMENT: ErrorCode.DRIVER_INVALID_ARGUMENT,
  CLOSED: ErrorCode.DRIVER_CLOSED,
  TIMEOUT: ErrorCode.DRIVER_TIMEOUT,
  UNAVAILABLE: ErrorCode.DRIVER_UNAVAILABLE,
} as const;

export type DriverErrorCodeName = (typeof DriverErrorCode)[keyof typeof DriverErrorCode];

/** The one error class (OpenStarryError) under the name driver code raises it by; tell a driver's by isDriverError. */
export const DriverError = OpenStarryError;
export type DriverError = OpenStarryError;

const driverCodes = new Set<string>(Object.values(DriverErrorCode));

/** An error a driver raised: an OpenStarryError with one of the DRIVER_ codes. */
export function isDriverError(value: unknown): value is OpenStarryError {
  return value instanceof OpenStarryError && driverCodes.has(value.code);
}
