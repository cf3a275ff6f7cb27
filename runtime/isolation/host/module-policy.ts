/**
 * What agent code may import inside an isolate. Agents reach hardware, files and the network through the HAL
 * and the channel only (spec 000 §4: "all physical operations go through the HAL; agents never touch /dev/*"),
 * so builtins that open files, processes, sockets, threads or new V8 contexts are refused, and so are native
 * addons. The allowed builtins are pure computation and data plumbing.
 */
export const ALLOWED_BUILTINS: ReadonlySet<string> = new Set([
  'assert', 'assert/strict', 'buffer', 'crypto', 'events', 'path', 'path/posix', 'querystring', 'stream',
  'stream/promises', 'stream/web', 'string_decoder', 'timers', 'timers/promises', 'url', 'util', 'util/types',
]);

/** Why a builtin is refused, for the error message an agent author reads. */
export function refusalReason(builtin: string): string {
  const base = builtin.split('/')[0] ?? builtin;
  switch (base) {
    case 'fs':
      return 'agents have no file-system access; use ctx.state for persistence and the HAL for devices';
    case 'child_process':
    case 'cluster':
      return 'agents cannot start processes';
    case 'net':
    case 'tls':
    case 'dgram':
    case 'dns':
    case 'http':
    case 'https':
    case 'http2':
      return 'network access needs a net capability and the process or docker isolation';
    case 'worker_threads':
      return 'agents cannot start threads';
    case 'vm':
    case 'v8':
    case 'inspector':
    case 'module':
    case 'repl':
      return 'agents cannot create V8 contexts or load modules by other means';
    default:
      return 'this builtin is not on the isolate allow-list';
  }
}
