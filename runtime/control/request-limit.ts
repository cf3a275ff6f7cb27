/**
 * Largest request line the server accepts; a longer line gets an error and the connection is closed. A module of
 * its own, without zod, because the CLI's control client checks it too and must not load the protocol's schemas.
 */
export const MAX_REQUEST_BYTES = 1024 * 1024;
