/**
 * The HAL's error codes (`HalErrorCode.TOO_MANY_HANDLES` is `ErrorCode.HAL_TOO_MANY_HANDLES`): a view of the one
 * registry, runtime/core/error-registry.ts, which declares them. They cross the channel as `{ code, message }` and
 * reach agent code as the same codes (an OpenStarryError with that `code`).
 */
import { ErrorCode } from '../runtime/core/errors.ts';

export const HalErrorCode = {
  CAPABILITY_INVALID: ErrorCode.CAPABILITY_INVALID,
  CAPABILITY_DENIED: ErrorCode.CAPABILITY_DENIED,
  DEVICE_BUSY: ErrorCode.DEVICE_BUSY,
  DEVICE_NOT_FOUND: ErrorCode.DEVICE_NOT_FOUND,
  DEVICE_FAILED: ErrorCode.DEVICE_FAILED,
  ENVELOPE_VIOLATION: ErrorCode.ENVELOPE_VIOLATION,
  RATE_LIMITED: ErrorCode.RATE_LIMITED,
  DEVICE_CONFIG_INVALID: ErrorCode.DEVICE_CONFIG_INVALID,
  TOO_MANY_HANDLES: ErrorCode.HAL_TOO_MANY_HANDLES,
  HANDLE_CLOSED: ErrorCode.HANDLE_CLOSED,
} as const;
