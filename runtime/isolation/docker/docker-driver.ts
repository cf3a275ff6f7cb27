/**
 * The docker isolation driver (spec 000 §2.1 "Docker Driver (production)", docs/ARCHITECTURE.md "Isolation drivers"): one container per agent,
 * created through the Docker Engine API (dockerode; podman's compatible API works the same). The agent reaches
 * the daemon over a Unix socket the driver creates per agent in its run dir and mounts into the container
 * (socket-port.ts, frame-codec.ts); the container's entry (container-entry.ts) runs the same agent host as a
 * worker. Container settings are in container-config.ts.
 *
 * Open it with `await DockerDriver.open({...})`: that checks the engine and the image, and removes containers a
 * previous run of this daemon left behind (same `org.openstarry.daemon` label).
 */
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdir, readdir, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type Docker from 'dockerode';
import type { Clock } from '../../clock.ts';
import { ErrorCode, OpenStarryError } from '../../errors.ts';
import { VERSION } from '../../version.ts';
import { bootstrapOf } from '../bootstrap-of.ts';
import type { IIsolate, IIsolationDriver, IsolateSpec } from '../isolation-driver.ts';
import type { ContainerLimits } from './container-config.ts';
import { DEFAULT_CONTAINER_LIMITS, LABELS, containerCreateOptions } from './container-config.ts';
import { BOOTSTRAP_NOTE, CONTAINER_PATHS } from './container-protocol.ts';
import { DockerIsolate } from './docker-isolate.ts';
import { isGone } from './engine-errors.ts';
import { SocketPort } from './socket-port.ts';
import { DEFAULT_MAX_MESSAGE_BYTES } from '../message-cap.ts';

export interface DockerDriverOptions {
  /** The agent image (scripts/docker/build-agent-image.sh). Default localhost/openstarry-agent:<VERSION>. */
  image?: string;
  /** The engine's socket. Default: DOCKER_HOST, else /var/run/docker.sock (dockerode's own defaults). */
  socketPath?: string;
  /** An engine client made elsewhere (tests, a remote engine); wins over socketPath. */
  docker?: Docker;
  /** Host folder for the per-agent channel sockets, e.g. $OPENSTARRY_HOME/run/docker. Created 0700. */
  runDir: string;
  /** Value of the org.openstarry.daemon label: which daemon owns a container. Default: host name + runDir. */
  daemonId?: string;
  /** "uid:gid" inside the container. Default: defaultContainerUser() (nobody as root, else the daemon's own ids). */
  user?: string;
  /** Network for agents granted `net:*:connect`. Default 'bridge'. */
  grantedNetwork?: string;
  limits?: Partial<ContainerLimits>;
  /** Largest channel frame accepted from a container. */
  maxFrameBytes?: number;
  /** The clock an isolate's timers run on (default: the system clock). */
  clock?: Clock;
}

export function defaultImage(): string {
  return `localhost/openstarry-agent:${VERSION}`;
}

export class DockerDriver implements IIsolationDriver {
  readonly name = 'docker' as const;
  /** limits.cpuPercent becomes the container's CPU quota (NanoCpus): the kernel throttles, the supervisor need not stop. */
  readonly enforcesCpuLimit = true;
  /**
   * The container's own Node, allowed on top of limits.memoryMb as for a `process` agent: the same runtime overhead the
   * cgroup limit adds (ContainerLimits.runtimeOverheadMb), so the supervisor's soft check (supervisor.ts, limit x 1.25
   * + this) sits above the kernel's. The engine's figure is the cgroup's usage, which also counts page cache the
   * container's first reads charged to it: without this, an idle agent on a fresh checkout read 81 MB against a
   * 64 MB agent's 80 MB check and was stopped as memory-limit (CI, 2026-12-06); locally it reads ~11 MB.
   */
  readonly baselineMemoryBytes: number;
  readonly docker: Docker;
  readonly image: string;
  readonly daemonId: string;
  readonly #runDir: string;
  readonly #user: string;
  readonly #grantedNetwork: string;
  readonly #limits: ContainerLimits;
  readonly #maxFrameBytes: number | undefined;
  readonly #clock: Clock | undefined;
  readonly #live = new Set<DockerIsolate>();
  #closed = false;

  constructor(options: DockerDriverOptions & { docker: Docker }) {
    this.docker = options.docker;
    this.image = options.image ?? defaultImage();
    this.#runDir = path.resolve(options.runDir);
    this.daemonId = options.daemonId ?? `${os.hostname()}:${this.#runDir}`;
    this.#user = options.user ?? defaultContainerUser(process.getuid?.(), process.getgid?.());
    this.#grantedNetwork = options.grantedNetwork ?? 'bridge';
    this.#limits = { ...DEFAULT_CONTAINER_LIMITS, ...options.limits };
    this.baselineMemoryBytes = this.#limits.runtimeOverheadMb * 1024 * 1024;
    this.#maxFrameBytes = options.maxFrameBytes;
    this.#clock = options.clock;
  }

  /** Checks the engine and the image, prepares the run dir and removes this daemon's orphans. */
  static async open(options: DockerDriverOptions): Promise<DockerDriver> {
    // Loaded here, not imported at the top: esbuild hoists an external static import to the top of the daemon
    // bundle, and dockerode (with gRPC, protobufjs and ssh2) takes most of a second to load. Only a daemon that
    // opens docker isolation pays for it.
    const docker = options.docker ?? new (await import('dockerode')).default(options.socketPath ? { socketPath: options.socketPath } : undefined);
    const driver = new DockerDriver({ ...options, docker });
    try {
      await driver.docker.ping();
    } catch (err) {
      throw new OpenStarryError(ErrorCode.ISOLATION_UNAVAILABLE, `docker isolation: the container engine does not answer: ${(err as Error).message}`, { cause: err });
    }
    try {
      await driver.docker.getImage(driver.image).inspect();
    } catch (err) {
      throw new OpenStarryError(ErrorCode.ISOLATION_UNAVAILABLE, `docker isolation: image ${driver.image} not found (build it with scripts/docker/build-agent-image.sh)`, { cause: err });
    }
    await driver.removeOrphans();
    return driver;
  }

  /**
   * Removes every container labelled as this daemon's that this driver instance did not start (a previous run
   * that crashed or was SIGKILLed), and their stale socket folders. Returns how many containers it removed.
   */
  async removeOrphans(): Promise<number> {
    const mine = new Set([...this.#live].map((i) => i.containerId));
    const found = await this.docker.listContainers({ all: true, filters: { label: [`${LABELS.daemon}=${this.daemonId}`] } });
    let removed = 0;
    for (const c of found) {
      if (mine.has(c.Id)) continue;
      try {
        await this.docker.getContainer(c.Id).remove({ force: true });
        removed += 1;
      } catch (err) {
        if (!isGone(err)) throw err;
      }
    }
    await mkdir(this.#runDir, { recursive: true, mode: 0o700 });
    // Socket folders of containers that no longer exist; a live isolate's folder is kept.
    const keep = new Set([...this.#live].map((i) => path.basename(i.channelDir)));
    for (const entry of await readdir(this.#runDir)) {
      if (entry.startsWith('agent-') && !keep.has(entry)) await rm(path.join(this.#runDir, entry), { recursive: true, force: true });
    }
    return removed;
  }

  async start(spec: IsolateSpec): Promise<IIsolate> {
    if (this.#closed) throw new OpenStarryError(ErrorCode.NOT_READY, 'docker isolation driver is closed');
    const { blueprint } = spec;
    const suffix = randomBytes(4).toString('hex');
    const channelDir = path.join(this.#runDir, `agent-${spec.pid}-${suffix}`);
    // The run dir is 0700 (host users cannot reach the sockets); inside it the agent's folder and socket are
    // open to the container's non-root user, which sees only this one folder.
    await mkdir(this.#runDir, { recursive: true, mode: 0o700 });
    await chmod(this.#runDir, 0o700);
    await mkdir(channelDir, { mode: 0o755 });
    await chmod(channelDir, 0o755);
    await prepareHome(spec.env.OPENSTARRY_HOME, this.#user);

    // The channel cap (agents.maxMessageBytes, message-cap.ts) is the frame decoder's limit: refused from the prefix.
    const maxFrameBytes = this.#maxFrameBytes ?? spec.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
    const port = new SocketPort({ maxFrameBytes });
    const bootstrap = bootstrapOf(spec, CONTAINER_PATHS.agentDir);
    // The first frame on the connection, whenever the container connects.
    port.post({ t: 'note', method: BOOTSTRAP_NOTE, params: bootstrap });
    let server: Server | undefined;
    let containerId: string | undefined;
    try {
      server = await listenOnce(path.join(channelDir, 'channel.sock'), (socket) => port.attach(socket));
      const options = containerCreateOptions({
        spec,
        image: this.image,
        daemonId: this.daemonId,
        channelDir,
        user: this.#user,
        grantedNetwork: this.#grantedNetwork,
        limits: this.#limits,
        name: `openstarry-${blueprint.manifest.id}-${spec.pid}-${suffix}`,
      });
      const container = await this.docker.createContainer(options);
      containerId = container.id;
      // Attached before start, so not a line of output is missed; the stream ends when the container does.
      const output = await container.attach({ stream: true, stdout: true, stderr: true });
      await container.start();
      const info = await container.inspect();
      const isolate = new DockerIsolate({
        container,
        port,
        server,
        channelDir,
        output,
        osPid: info.State.Pid > 0 ? info.State.Pid : undefined,
        memoryLimitBytes: options.HostConfig?.Memory ?? 0,
        maxMessageBytes: maxFrameBytes,
        ...(this.#clock ? { clock: this.#clock } : {}),
      });
      this.#live.add(isolate);
      void isolate.exited.then(() => this.#live.delete(isolate));
      return isolate;
    } catch (err) {
      port.close();
      server?.close();
      if (containerId) await this.docker.getContainer(containerId).remove({ force: true }).catch(() => undefined);
      await rm(channelDir, { recursive: true, force: true });
      if (err instanceof OpenStarryError) throw err;
      throw new OpenStarryError(ErrorCode.INTERNAL, `docker isolation: could not start a container for ${blueprint.manifest.id}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Kills and removes every container this driver started. Idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    await Promise.all([...this.#live].map((i) => i.terminate()));
  }
}

/** Listens on a Unix socket for exactly one connection (the container), then stops listening. */
async function listenOnce(socketPath: string, onConnection: (socket: Socket) => void): Promise<Server> {
  const server = createServer((socket) => {
    server.close();
    onConnection(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // The container's user is not the daemon's: it must be allowed to connect (the 0700 run dir guards the host).
  await chmod(socketPath, 0o666);
  server.unref();
  return server;
}

/**
 * The container's default user. As root the daemon hands each agent's home to nobody (65534). As a service user
 * (the package's unit runs it as openstarry, with no capabilities) it cannot chown, and its files are 0700/0640
 * (UMask=0027): a container running as nobody could then neither write its home nor read its template. Running it
 * with the daemon's own uid:gid keeps both working; that uid means nothing inside the container (no capabilities,
 * read-only root, no devices).
 */
export function defaultContainerUser(uid: number | undefined, gid: number | undefined): string {
  if (uid === undefined || uid === 0) return '65534:65534';
  return `${uid}:${gid ?? uid}`;
}

/** The agent's home exists and belongs to the container's user when the daemon can arrange that (as root). */
async function prepareHome(home: string, user: string): Promise<void> {
  await mkdir(home, { recursive: true, mode: 0o700 });
  const [uid, gid] = user.split(':').map((n) => Number(n));
  if (process.getuid?.() === 0 && uid !== undefined && Number.isInteger(uid)) {
    await chown(home, uid, gid !== undefined && Number.isInteger(gid) ? gid : uid);
  }
}
