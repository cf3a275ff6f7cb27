/**
 * What one agent container is created with (docs/ARCHITECTURE.md "Isolation drivers", Docker): pure, so the security
 * settings can be read and tested in one place without an engine.
 *
 * - no devices, no capabilities (CapDrop ALL), no-new-privileges, read-only root fs, a non-root user;
 * - network `none` unless the manifest grants a `net:*:connect` capability;
 * - memory: the cgroup limit is limits.memoryMb (the V8 heap, as the worker driver uses it) plus the Node
 *   runtime's own overhead, with no swap; CPU from limits.cpuPercent as NanoCpus; a pids limit; explicit ulimits
 *   (docs/ARCHITECTURE.md "Testing against real parts": a container only starts on podman/runc here when Ulimits is set; a sane default anyway);
 * - spec 000 §2.2 DI protocol: OPENSTARRY_AGENT_ID / OPENSTARRY_HOME in the env, the template folder mounted
 *   read-only, the agent's home read-write at its own path, the channel socket's folder from the daemon's run dir;
 * - labels that tie the container to this daemon, so a later run removes what a crashed one left behind.
 */
import type { ContainerCreateOptions } from 'dockerode';
import { parseCapability } from '../../../hal/capability-grammar.ts';
import type { IsolateSpec } from '../isolation-driver.ts';
import { CONTAINER_PATHS } from './container-protocol.ts';

export const LABELS = {
  daemon: 'org.openstarry.daemon',
  pid: 'org.openstarry.pid',
  agent: 'org.openstarry.agent',
} as const;

export interface ContainerLimits {
  /** Added to limits.memoryMb for the cgroup limit: Node's own RSS (code, stacks, the host) outside the heap. */
  runtimeOverheadMb: number;
  pidsLimit: number;
  nofile: number;
  nproc: number;
}

export const DEFAULT_CONTAINER_LIMITS: ContainerLimits = { runtimeOverheadMb: 48, pidsLimit: 64, nofile: 1024, nproc: 512 };

export interface ContainerConfigInput {
  spec: IsolateSpec;
  image: string;
  daemonId: string;
  /** Host folder holding this agent's channel socket (mounted at CONTAINER_PATHS.channelDir). */
  channelDir: string;
  /** "uid:gid" the agent runs as inside the container. */
  user: string;
  /** Network used when a net capability is granted (the engine's default bridge unless configured). */
  grantedNetwork: string;
  limits: ContainerLimits;
  name: string;
}

const MiB = 1024 * 1024;

export function grantsNetwork(capabilities: readonly string[]): boolean {
  return capabilities.some((raw) => {
    const c = parseCapability(raw);
    return !('error' in c) && c.kind === 'net';
  });
}

export function containerCreateOptions(input: ContainerConfigInput): ContainerCreateOptions {
  const { spec, limits } = input;
  const manifest = spec.blueprint.manifest;
  const memoryBytes = (manifest.limits.memoryMb + limits.runtimeOverheadMb) * MiB;
  return {
    name: input.name,
    Image: input.image,
    Entrypoint: ['/usr/bin/node'],
    Cmd: ['--experimental-vm-modules', '--no-warnings', `--max-old-space-size=${manifest.limits.memoryMb}`, CONTAINER_PATHS.entry, CONTAINER_PATHS.channelSocket],
    // Only the DI variables: nothing of the daemon's environment reaches an agent.
    Env: [`OPENSTARRY_AGENT_ID=${spec.env.OPENSTARRY_AGENT_ID}`, `OPENSTARRY_HOME=${spec.env.OPENSTARRY_HOME}`],
    User: input.user,
    WorkingDir: '/',
    Labels: { [LABELS.daemon]: input.daemonId, [LABELS.pid]: spec.pid, [LABELS.agent]: manifest.id },
    Tty: false,
    OpenStdin: false,
    AttachStdin: false,
    AttachStdout: true,
    AttachStderr: true,
    NetworkDisabled: !grantsNetwork(manifest.capabilities),
    HostConfig: {
      NetworkMode: grantsNetwork(manifest.capabilities) ? input.grantedNetwork : 'none',
      Mounts: [
        { Type: 'bind', Source: spec.blueprint.rootDir, Target: CONTAINER_PATHS.agentDir, ReadOnly: true },
        // At the same path inside: OPENSTARRY_HOME means the same folder to the agent, its logs and the daemon.
        { Type: 'bind', Source: spec.env.OPENSTARRY_HOME, Target: spec.env.OPENSTARRY_HOME, ReadOnly: false },
        { Type: 'bind', Source: input.channelDir, Target: CONTAINER_PATHS.channelDir, ReadOnly: false },
      ],
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=16m' },
      Devices: [],
      Privileged: false,
      CapDrop: ['ALL'],
      SecurityOpt: ['no-new-privileges'],
      ReadonlyRootfs: true,
      Memory: memoryBytes,
      MemorySwap: memoryBytes,
      NanoCpus: Math.round((manifest.limits.cpuPercent / 100) * 1e9),
      PidsLimit: limits.pidsLimit,
      Ulimits: [
        { Name: 'nofile', Soft: limits.nofile, Hard: limits.nofile },
        { Name: 'nproc', Soft: limits.nproc, Hard: limits.nproc },
      ],
      // Removed by the driver after it has read the exit code and OOMKilled (AutoRemove would race inspect).
      AutoRemove: false,
      RestartPolicy: { Name: 'no' },
      LogConfig: { Type: 'none', Config: {} },
    },
  };
}
