/**
 * Error codes of the MQTT link (DESIGN §5.3). Kept here as plain constants until they are folded into the
 * runtime registry (runtime/core/errors.ts); raise them with `new OpenStarryError(code, message)`.
 */
export const LinkErrorCode = {
  /** The `mqtt` config fragment is invalid, or a file it names (TLS, password) is missing or unreadable. */
  CONFIG: 'ERR_LINK_CONFIG',
  /** A topic or topic filter given to publish/subscribe is not valid (wildcards in a publish, empty level...). */
  TOPIC_INVALID: 'ERR_LINK_TOPIC_INVALID',
  /** The link is stopped (close() was called, or start() never was). */
  STOPPED: 'ERR_LINK_STOPPED',
  /** A QoS 0 publish or a direct publish needs a connection and there is none. */
  OFFLINE: 'ERR_LINK_OFFLINE',
  /** reply() on a message that carries no MQTT 5 response topic and no fallback correlation was given. */
  NO_RESPONSE_TOPIC: 'ERR_LINK_NO_RESPONSE_TOPIC',
  /** The persisted outbound queue could not be read or written (disk full, I/O error, read-only fs). */
  QUEUE_IO: 'ERR_LINK_QUEUE_IO',
  /** A message is larger than the whole queue may hold (`queue.maxBytes`). */
  MESSAGE_TOO_LARGE: 'ERR_LINK_MESSAGE_TOO_LARGE',
  /** The embedded broker could not listen (port in use, no permission). */
  BROKER_LISTEN: 'ERR_LINK_BROKER_LISTEN',
} as const;

export type LinkErrorCodeName = (typeof LinkErrorCode)[keyof typeof LinkErrorCode];
