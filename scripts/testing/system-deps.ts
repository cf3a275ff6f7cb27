/**
 * docs/ARCHITECTURE.md "Testing against real parts": a test that needs a system tool must not silently pass without it. With
 * OPENSTARRY_REQUIRE_SYSTEM_DEPS=1 (CI) a missing tool fails the test; otherwise it is a visible skip naming the
 * Debian package to install.
 */
import { execFileSync } from 'node:child_process';
import type { Test } from 'tap';

export function hasTool(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** True when the tool is there; otherwise fails (CI) or skips (a developer's machine) and returns false. */
export function requireTool(t: Test, tool: string, debianPackage: string): boolean {
  return requirePart(t, hasTool(tool), `${tool} is not installed (apt-get install ${debianPackage})`);
}

/** The same rule for any other missing part (a library, a build product): `message` says how to get it. */
export function requirePart(t: Test, present: boolean, message: string): boolean {
  if (present) return true;
  if (process.env.OPENSTARRY_REQUIRE_SYSTEM_DEPS === '1') t.fail(message);
  else t.pass(`SKIP: ${message}`, { skip: message });
  return false;
}
