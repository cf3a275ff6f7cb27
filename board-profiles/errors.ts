/**
 * Error registry of board-profiles/ (DESIGN §5.3). Profile loading, board detection and pin resolution fail
 * with these codes; messages name the file, the field, the pin and the board so a user can act on them.
 */
export const BoardErrorCode = {
  /** A profile file is not JSON, fails the schema, or its name does not match its file name. */
  PROFILE_INVALID: 'ERR_BOARD_PROFILE_INVALID',
  /** A forced board name (config `board:`) has no profile, or the `sim` profile is missing. */
  BOARD_UNKNOWN: 'ERR_BOARD_UNKNOWN',
  /** A pin spec names no header pin, line name or declared chip line of the board. */
  PIN_UNKNOWN: 'ERR_BOARD_PIN_UNKNOWN',
  /** The header pin exists but is not a GPIO line (power, ground, or a dedicated I²C/UART pin). */
  PIN_NOT_GPIO: 'ERR_BOARD_PIN_NOT_GPIO',
  /** The profile's gpiochip label is not under /sys/class/gpio (wrong board, or no GPIO sysfs). */
  GPIOCHIP_NOT_FOUND: 'ERR_BOARD_GPIOCHIP_NOT_FOUND',
  /** An I²C bus or serial port name the board does not have. */
  BUS_UNKNOWN: 'ERR_BOARD_BUS_UNKNOWN',
} as const;

export type BoardErrorCodeName = (typeof BoardErrorCode)[keyof typeof BoardErrorCode];

/** One problem inside a file: dotted field path (`gpio.header.3.line`) and message; the shape `openstarry validate` prints. */
export interface ProfileProblem {
  path: string;
  message: string;
}

export class BoardError extends Error {
  override readonly name = 'BoardError';
  readonly code: BoardErrorCodeName;
  /** For PROFILE_INVALID: the file and every problem found in it. */
  readonly details: { file?: string; problems?: ProfileProblem[] } | undefined;

  constructor(code: BoardErrorCodeName, message: string, options: { cause?: unknown; details?: BoardError['details'] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }
}
