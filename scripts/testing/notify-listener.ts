/**
 * A real sd_notify receiver for tests and benchmarks (sd_notify(3), README "systemd"): a python3 Unix datagram socket
 * standing in for systemd's NOTIFY_SOCKET. It binds a file system path or, for an address starting with "@", a
 * name in the Linux abstract namespace (sd_notify(3)); it turns on SO_PASSCRED so every message arrives with the
 * sender's pid, as systemd sees it; and it closes every file descriptor it is passed — systemd-notify (systemd >= 251)
 * sends BARRIER=1 with a pipe and waits until the receiver has closed it. Each datagram comes back as one
 * JSON line on the child's stdout.
 */
import { spawn } from 'node:child_process';
import type { ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';

const LISTENER = String.raw`
import json, os, socket, struct, sys
address = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
s.bind("\0" + address[1:] if address.startswith("@") else address)
print(json.dumps({"listening": address}), flush=True)
while True:
    data, ancillary, _flags, _addr = s.recvmsg(65536, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(64))
    pid, fds = None, 0
    for level, kind, cdata in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
            pid = struct.unpack("iII", cdata[:12])[0]
        elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            count = len(cdata) // 4
            for fd in struct.unpack("%di" % count, cdata[: count * 4]):
                os.close(fd)
                fds += 1
    print(json.dumps({"pid": pid, "fds": fds, "message": data.decode("utf-8", "replace")}), flush=True)
`;

export interface NotifyMessage {
  /** The sender's pid from SCM_CREDENTIALS (what systemd checks against NotifyAccess=main). */
  pid: number | null;
  /** File descriptors that came with it (systemd-notify's barrier pipe), already closed. */
  fds: number;
  message: string;
  /** The KEY=VALUE lines of the message. */
  fields: Record<string, string>;
}

export interface NotifyListener {
  /** What NOTIFY_SOCKET should say: the socket path, or "@name" for an abstract socket. */
  readonly address: string;
  readonly messages: NotifyMessage[];
  /** Resolves with the first message (already received or still to come) matching `match`; rejects after timeoutMs. */
  waitFor(what: string, match: (m: NotifyMessage) => boolean, timeoutMs?: number): Promise<NotifyMessage>;
  close(): Promise<void>;
}

export function parseFields(message: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of message.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) fields[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return fields;
}

/** Starts the listener and resolves once it is bound. Needs python3 (see requireTool). */
export function startNotifyListener(address: string, python = 'python3'): Promise<NotifyListener> {
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(python, ['-c', LISTENER, address], { stdio: ['ignore', 'pipe', 'pipe'] });
  const messages: NotifyMessage[] = [];
  const waiters = new Set<() => void>();
  let stderr = '';
  let buffered = '';
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
  return new Promise((resolve, reject) => {
    const close = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    };
    const listener: NotifyListener = {
      address,
      messages,
      close,
      waitFor: (what, match, timeoutMs = 15_000) =>
        new Promise((res, rej) => {
          const check = () => {
            const found = messages.find(match);
            if (!found) return false;
            waiters.delete(check);
            clearTimeout(timer);
            res(found);
            return true;
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            rej(new Error(`no ${what} on ${address} within ${timeoutMs} ms; received: ${JSON.stringify(messages.map((m) => m.message))}${stderr ? `; listener stderr: ${stderr}` : ''}`));
          }, timeoutMs);
          if (!check()) waiters.add(check);
        }),
    };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = JSON.parse(buffered.slice(0, nl)) as { listening?: string; pid?: number | null; fds?: number; message?: string };
        buffered = buffered.slice(nl + 1);
        if (line.listening !== undefined) {
          resolve(listener);
          continue;
        }
        const message = line.message ?? '';
        messages.push({ pid: line.pid ?? null, fds: line.fds ?? 0, message, fields: parseFields(message) });
        for (const w of [...waiters]) w();
      }
    });
    child.once('close', (code) => reject(new Error(`the notify listener on ${address} exited (${code}) before it was bound: ${stderr}`)));
    child.once('error', reject);
  });
}
