/**
 * Test support: two linked pseudo-terminals from socat (docs/ARCHITECTURE.md "Testing against real parts"), so the real serialport binding opens a real
 * tty while the test plays the device on the other one. Links live in a fresh mkdtemp dir under os.tmpdir()
 * because a pty path ends up in termios error messages and some tools truncate long tty names.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export interface PtyPair {
  /** The end the code under test opens. */
  readonly a: string;
  /** The end the test's device plays on. */
  readonly b: string;
  /** Kills socat, waits for it to exit, removes the dir. Idempotent. */
  close(): Promise<void>;
}

const READY_LINE = 'starting data transfer loop';

export async function startPtyPair(readyTimeoutMs = 5000): Promise<PtyPair> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'os-pty-'));
  const a = path.join(dir, 'ttyA');
  const b = path.join(dir, 'ttyB');
  const child = spawn('socat', ['-d', '-d', `pty,raw,echo=0,link=${a}`, `pty,raw,echo=0,link=${b}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    })();
    return closing;
  };

  try {
    await waitReady(child, readyTimeoutMs);
    // socat creates both links before it enters its transfer loop; check rather than trust the log line.
    if (!existsSync(a) || !existsSync(b)) throw new Error(`socat reported ready but ${a} / ${b} are missing`);
  } catch (err) {
    await close();
    throw err;
  }
  return { a, b, close };
}

function waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let log = '';
    const finish = (err?: Error): void => {
      clearTimeout(timer);
      child.stderr?.off('data', onData);
      child.off('error', onError);
      child.off('exit', onExit);
      // Keep draining socat's log so a chatty socat never blocks on a full pipe.
      child.stderr?.resume();
      if (err) reject(err);
      else resolve();
    };
    const onData = (chunk: Buffer): void => {
      log = (log + chunk.toString('utf8')).slice(-4096);
      if (log.includes(READY_LINE)) finish();
    };
    const onError = (err: Error): void => finish(err);
    const onExit = (): void => finish(new Error(`socat exited before the ptys were ready: ${log.trim()}`));
    const timer = setTimeout(() => finish(new Error(`socat did not report ready in ${timeoutMs} ms: ${log.trim()}`)), timeoutMs);
    child.stderr?.on('data', onData);
    child.once('error', onError);
    child.once('exit', onExit);
  });
}
