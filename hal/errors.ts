/**
 * Error codes of the HAL (DESIGN §5.3). They cross the channel as `{ code, message }` and reach agent code as the
 * same codes (an OpenStarryError with that `code`).
 */
export const HalErrorCode = {
  /** A manifest capability names a device that does not exist, or of the wrong kind (checked at spawn). */
  CAPABILITY_INVALID: 'ERR_CAPABILITY_INVALID',
  /** A call outside the agent's grants. Logged and counted per agent; never reaches a driver. */
  CAPABILITY_DENIED: 'ERR_CAPABILITY_DENIED',
  /** The actuator or port is owned by another live agent. */
  DEVICE_BUSY: 'ERR_DEVICE_BUSY',
  /** No device with that id (or no sensor measuring that quantity among the granted ones). */
  DEVICE_NOT_FOUND: 'ERR_DEVICE_NOT_FOUND',
  /** The device exists but failed to initialise or its last operation failed (the driver's error is the cause). */
  DEVICE_FAILED: 'ERR_DEVICE_FAILED',
  /** A command outside the actuator's envelope (unknown command, value out of range). */
  ENVELOPE_VIOLATION: 'ERR_ENVELOPE_VIOLATION',
  /** Commands to this actuator arrive faster than its rate limit. */
  RATE_LIMITED: 'ERR_RATE_LIMITED',
  /** A `devices[]` entry or a board profile device is invalid (boot error naming the device). */
  DEVICE_CONFIG_INVALID: 'ERR_DEVICE_CONFIG_INVALID',
  /** The agent holds as many watches / camera streams as it may. */
  TOO_MANY_HANDLES: 'ERR_HAL_TOO_MANY_HANDLES',
  /** Unknown stream, watch or port handle (already closed). */
  HANDLE_CLOSED: 'ERR_HANDLE_CLOSED',
} as const;
