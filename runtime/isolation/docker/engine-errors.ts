/** Engine API answers that mean "already gone": 404 no such container, 409 removal already in progress / not running. */
export function isGone(err: unknown): boolean {
  const status = (err as { statusCode?: number } | null)?.statusCode;
  return status === 404 || status === 409;
}
