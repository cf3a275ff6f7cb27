/**
 * The MQTT link's error codes (`LinkErrorCode.CONFIG` is `ErrorCode.LINK_CONFIG`): a view of the one registry,
 * runtime/core/error-registry.ts, which declares them; raise them with `new OpenStarryError(code, message)`.
 */
import { ErrorCode } from '../core/errors.ts';

export const LinkErrorCode = {
  CONFIG: ErrorCode.LINK_CONFIG,
  TOPIC_INVALID: ErrorCode.LINK_TOPIC_INVALID,
  STOPPED: ErrorCode.LINK_STOPPED,
  OFFLINE: ErrorCode.LINK_OFFLINE,
  NO_RESPONSE_TOPIC: ErrorCode.LINK_NO_RESPONSE_TOPIC,
  QUEUE_IO: ErrorCode.LINK_QUEUE_IO,
  MESSAGE_TOO_LARGE: ErrorCode.LINK_MESSAGE_TOO_LARGE,
  BROKER_LISTEN: ErrorCode.LINK_BROKER_LISTEN,
} as const;

export type LinkErrorCodeName = (typeof LinkErrorCode)[keyof typeof LinkErrorCode];
