/**
 * Orders template ids and folder names by UTF-16 code units, the same on every board whatever its locale.
 * Not `localeCompare`: its first call loads ICU's collation data, which on Node 22 adds ~3 MB to the RSS of a daemon
 * that otherwise never touches ICU (measured beside a bare Node; issue 12, README "Performance"). The order is only
 * that of listings (`openstarry templates`) and of the folder scan; ids with `.`, `_` or `-` may sort differently
 * than a locale would put them, the same way on every board.
 */
export const byCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
