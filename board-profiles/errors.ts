/**
 * The board profiles' error codes under the short names this folder uses (`BoardErrorCode.PIN_UNKNOWN` is
 * `ErrorCode.BOARD_PIN_UNKNOWN`): a view of the one registry, runtime/core/error-registry.ts, which declares them.
 * Profile loading, board detection and pin resolution fail with these codes; messages name the file, the field,
 * the pin and the board so a user can act on them.
 */
import { ErrorCode, OpenStarryError } from '../runtime/core/errors.ts';

export const BoardErrorCode = {
  PROFILE_INVALID: ErrorCode.BOARD_PROFILE_INVALID,
  BOARD_UNKNOWN: ErrorCode.BOARD_UNKNOWN,
  PIN_UNKNOWN: ErrorCode.BOARD_PIN_UNKNOWN,
  PIN_NOT_GPIO: ErrorCode.BOARD_PIN_NOT_GPIO,
  GPIOCHIP_NOT_FOUND: ErrorCode.BOARD_GPIOCHIP_NOT_FOUND,
  BUS_UNKNOWN: ErrorCode.BOARD_BUS_UNKNOWN,
} as const;

export type BoardErrorCodeName = (typeof BoardErrorCode)[keyof typeof BoardErrorCode];

/** One problem inside a file: dotted field path (`gpio.header.3.line`) and message; the shape `openstarry validate` prints. */
export interface ProfileProblem {
  path: string;
  message: string;
}

/** What a PROFILE_INVALID error's `details` holds: the file and every problem found in it. */
export interface ProfileProblems {
  file?: string;
  problems?: ProfileProblem[];
}

/** The one error class (OpenStarryError) under the name profile code raises it by. */
export const BoardError = OpenStarryError;
export type BoardError = OpenStarryError;
