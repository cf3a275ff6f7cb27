/**
 * A real mosquitto for tests and benches (docs/ARCHITECTURE.md "Testing against real parts"): one per test, on a free loopback port, with a
 * config file generated in a temp dir. `stop()` and `restart()` keep the SAME port, so a client configured with the
 * broker's URL sees "broker down, broker back" exactly as a board sees its upstream broker go away.
 *
 *   const broker = await startMosquitto({ dir: t.testdir() });
 *   t.teardown(() => broker.kill());
 *
 * Options: `users` writes a password file (mosquitto_passwd) and turns anonymous access off; `acl` adds an ACL
 * file; `persistence` keeps sessions and queued messages across stop()/restart() (mosquitto saves its database on
 * SIGTERM), so a persistent-session subscriber misses nothing while the broker is down; `tls` adds TLS to the
 * listener.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

export interface MosquittoOptions {
  /** A directory the test owns (t.testdir()): config, password file, persistence and log go here. */
  dir: string;
  port?: number;
  users?: { username: string; password: string }[];
  /** Lines of a mosquitto ACL file, e.g. ['user alice', 'topic readwrite openstarry/#']. */
  acl?: string[];
  persistence?: boolean;
  tls?: { cafile: string; certfile: string; keyfile: string; requireCertificate?: boolean };
  /** Extra mosquitto.conf lines. */
  extra?: string[];
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  readonly running: boolean;
  /** The running broker's pid (to SIGSTOP it: a hung broker), undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGTERM and wait for the exit (with persistence: the database is saved). */
  stop(): Promise<void>;
  /** Starts again on the same port. */
  restart(): Promise<void>;
  /** SIGKILL if running; for t.teardown. Never throws. */
  kill(): Promise<void>;
  /** mosquitto's own log so far (for failure messages). */
  log(): string;
}

const run = promisify(execFile);

export async function freePort(host = '127.0.0.1'): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startMosquitto(options: MosquittoOptions): Promise<Mosquitto> {
  const dir = path.resolve(options.dir);
  await mkdir(dir, { recursive: true });
  const port = options.port ?? (await freePort());
  const lines: string[] = [];
  // Started as root, mosquitto drops to the `mosquitto` user, which cannot write the test's dir (log, persistence).
  if (process.getuid?.() === 0) lines.push('user root');
  lines.push(`listener ${port} 127.0.0.1`, `log_dest file ${path.join(dir, 'mosquitto.log')}`, 'log_type error', 'log_type warning', 'log_type notice');
  if (options.users && options.users.length > 0) {
    const pwfile = path.join(dir, 'passwords');
    await writeFile(pwfile, '');
    for (const u of options.users) await run('mosquitto_passwd', ['-b', pwfile, u.username, u.password]);
    lines.push('allow_anonymous false', `password_file ${pwfile}`);
  } else {
    lines.push('allow_anonymous true');
  }
  if (options.acl) {
    const aclfile = path.join(dir, 'acl');
    await writeFile(aclfile, `${options.acl.join('\n')}\n`);
    lines.push(`acl_file ${aclfile}`);
  }
  if (options.persistence) {
    lines.push('persistence true', `persistence_location ${dir}/`, 'autosave_interval 0', 'max_queued_messages 0', 'max_queued_bytes 0');
  } else {
    lines.push('persistence false', 'max_queued_messages 0');
  }
  if (options.tls) {
    lines.push(`cafile ${options.tls.cafile}`, `certfile ${options.tls.certfile}`, `keyfile ${options.tls.keyfile}`, `require_certificate ${options.tls.requireCertificate ? 'true' : 'false'}`);
  }
  lines.push(...(options.extra ?? []));
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(conf, `${lines.join('\n')}\n`);

  let child: ChildProcess | undefined;
  let output = '';

  const launch = async (): Promise<void> => {
    // The port may linger briefly after a stop; mosquitto exits when it cannot bind, so try a few times.
    for (let attempt = 0; ; attempt++) {
      const proc = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      const collect = (b: Buffer) => void (output += b.toString());
      proc.stdout?.on('data', collect);
      proc.stderr?.on('data', collect);
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      const deadline = Date.now() + 5000;
      let up = false;
      while (Date.now() < deadline && proc.exitCode === null && proc.signalCode === null) {
        if (await canConnect(port)) {
          up = true;
          break;
        }
        await new Promise((r) => setTimeout(r, 20));
      }
      if (up && proc.exitCode === null) return;
      proc.kill('SIGKILL');
      await exited;
      child = undefined;
      if (attempt >= 4) throw new Error(`mosquitto did not start on port ${port}:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  const stopWith = async (signal: NodeJS.Signals): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill(signal);
    await exited;
  };

  await launch();
  return {
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://127.0.0.1:${port}`,
    get running() {
      return child !== undefined && child.exitCode === null;
    },
    get pid() {
      return child?.pid;
    },
    stop: () => stopWith('SIGTERM'),
    restart: async () => {
      await stopWith('SIGTERM');
      await launch();
    },
    kill: () => stopWith('SIGKILL').catch(() => undefined),
    log: () => {
      let file = '';
      try {
        file = readFileSync(path.join(dir, 'mosquitto.log'), 'utf8');
      } catch {
        // no log yet
      }
      return `${output}${file}`;
    },
  };
}
