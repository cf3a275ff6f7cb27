/** A CliIo that records output, for tests that run `main(argv, io)` in-process. Imported only by tests. */
import type { CliIo } from './args.ts';

export interface CapturedIo extends CliIo {
  stdout: string[];
  stderr: string[];
  /** Simulates Ctrl-C: calls the handlers registered through onInterrupt. */
  interrupt(): void;
  /** Resolves once a command has registered an interrupt handler (e.g. logs -f is following). */
  interruptible: Promise<void>;
}

export function captureIo(cwd = process.cwd(), env: Record<string, string | undefined> = {}): CapturedIo {
  const handlers = new Set<() => void>();
  let ready: () => void = () => undefined;
  const io: CapturedIo = {
    stdout: [],
    stderr: [],
    out: (line) => void io.stdout.push(...line.split('\n')),
    err: (line) => void io.stderr.push(...line.split('\n')),
    env,
    cwd,
    onInterrupt(handler) {
      handlers.add(handler);
      ready();
      return () => handlers.delete(handler);
    },
    interrupt: () => {
      for (const h of handlers) h();
    },
    interruptible: new Promise((resolve) => (ready = resolve)),
  };
  return io;
}
