/**
 * `process` inside QuickJS: there is none, except this facade for the DI protocol (spec 000 §2.2): `process.env`
 * holds OPENSTARRY_AGENT_ID and OPENSTARRY_HOME and nothing else, frozen. No exit, kill, binding, dlopen, cwd or
 * anything that reaches the host; `getBuiltinModule` exists only to refuse, with the same error code as the other
 * isolates' refusals, so portable agent code that probes for it gets an answer it understands.
 */
import { ErrorCode } from '../../../core/errors.ts';
import { host } from './host-api.ts';

const env = (JSON.parse(host.bootstrap()) as { env?: Record<string, string> }).env ?? {};

function denied(what: string): never {
  const err = new Error(`${what} refused: the wasm isolate has no node builtins (no file system, network or process)`) as Error & { code: string };
  err.code = ErrorCode.ISOLATE_DENIED;
  throw err;
}

(globalThis as Record<string, unknown>).process = Object.freeze({
  env: Object.freeze({ ...env }),
  getBuiltinModule: (id: unknown) => denied(`process.getBuiltinModule(${JSON.stringify(String(id))})`),
});
