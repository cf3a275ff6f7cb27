/**
 * Runs one program of the packaging recipe. Output is captured, not streamed: a failure throws with the command
 * and the last lines of what it printed, which is what a developer needs from a failed node-gyp or dpkg-deb run.
 */
import { spawn } from 'node:child_process';

export interface RunOptions {
  cwd?: string;
  env?: NodeJS.ProcessEnv;
}

const TAIL_LINES = 15;

export function run(file: string, args: readonly string[], options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', (err) => reject(new Error(`${file}: ${err.message}`)));
    child.once('close', (code, signal) => {
      if (code === 0) return resolve(stdout);
      const tail = `${stdout}\n${stderr}`.trim().split('\n').slice(-TAIL_LINES).join('\n');
      reject(new Error(`${[file, ...args].join(' ')} failed (${signal ?? `exit ${code}`})${options.cwd ? ` in ${options.cwd}` : ''}\n${tail}`));
    });
  });
}
