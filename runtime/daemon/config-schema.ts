/**
 * The daemon config (README "Configuration"), YAML validated against this schema. Unknown keys are errors — a typo such
 * as `masterAgnet` must not be silently ignored on a board nobody is watching. Keys for parts that this build
 * does not include yet are added by the issues that build them.
 */
import * as z from 'zod';
import { AGENT_ID } from '../design/manifest-schema.ts';
import { mqttConfigSchema } from '../link/mqtt-config.ts';
import { dashboardConfigSchema } from '../dashboard/config.ts';
import { orchestrationConfigSchema } from '../orchestrator/config.ts';
import { homeassistantConfigSchema } from '../homeassistant/config.ts';

export const configSchema = z
  .object({
    /** Names this board upstream (MQTT topic prefix). Default: the host name. */
    deviceId: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be letters, digits, ".", "_" or "-", at most 64 characters').optional(),
    /** `auto` detects from /proc/device-tree; a profile name forces one (`sim` for the simulated board). */
    board: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'must be "auto" or a board profile name such as "rpi-4b" or "sim"').default('auto'),
    templates: z
      .object({
        /** Local template directory (relative to the config file). Default: the templates shipped in agents/. */
        dir: z.string().min(1).optional(),
        /**
         * A remote design-layer service (`openstarry design-layer serve`): its templates win over local ones with
         * the same id, its last good set is cached in OPENSTARRY_HOME, and the daemon boots from that cache when
         * the service is unreachable (spec 002 phase 2).
         */
        url: z
          .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
          .optional(),
        /** Per request to the service; past it the service counts as unreachable and the cache is used. */
        timeoutMs: z.number().int().min(100).max(60_000).default(3000),
      })
      .strict()
      .default({ timeoutMs: 3000 }),
    /**
     * Devices beyond the board profile's own (on the sim board: the default set). Each entry is `{ id, driver,
     * rateLimit?, ...driver fields }`, validated by the HAL with the driver's own schema at boot; an entry with the
     * id of a board default replaces it.
     */
    devices: z.array(z.record(z.string(), z.unknown())).default([]),
    /** Template id of the master agent spawned in boot phase 3. */
    masterAgent: z.string().regex(AGENT_ID, 'must be a template id').default('master'),
    agents: z
      .object({
        /** How long SIGTERM waits for stop(ctx) before the isolate is terminated. */
        stopGraceMs: z.number().int().min(0).max(60_000).default(5000),
        /**
         * The whole shutdown keeps within this. Below the packaged unit's TimeoutStopSec (90 s), so systemd never
         * kills the daemon before the HAL has put every actuator in its safe state.
         */
        shutdownTimeoutMs: z.number().int().min(1000).max(80_000).default(60_000),
        /** How long spawnAgent waits for `running`; an agent not running by then is stopped as a crash (`start-timeout: ...`). */
        startTimeoutMs: z.number().int().min(100).max(600_000).default(10_000),
        /** How often cpu/memory of each agent is sampled for `ps`, `status` and the memory limit. */
        usageIntervalMs: z.number().int().min(200).max(3_600_000).default(2000),
        /**
         * How long an agent's CPU use must stay over its limits.cpuPercent before it is stopped (reason
         * `cpu-limit: ...`); shorter bursts are allowed. Effectively at least usageIntervalMs. Not applied to
         * drivers that throttle CPU themselves (docker).
         */
        cpuLimitWindowMs: z.number().int().min(200).max(3_600_000).default(10_000),
        /** Log lines kept per agent for `openstarry logs`. */
        logLines: z.number().int().min(10).max(100_000).default(1000),
        /**
         * Worker threads kept booted for agents with the default 64 MB memory limit, so spawning one skips thread
         * start-up. Each costs about 6-10 MB of RSS while idle. `auto`: one while the rules have a spawn() action,
         * else none (runtime/daemon/spare-policy.ts); 0 keeps the daemon as lean as it can be.
         */
        warmSpares: z.union([z.literal('auto'), z.number().int().min(0).max(4)]).default('auto'),
        /**
         * Largest message an agent's isolate may send the daemon (a log line, events.publish, a HAL call); one
         * over it stops the agent (`message-too-large: <n> bytes > <cap>`). Refused before it is buffered whole.
         */
        maxMessageBytes: z.number().int().min(64 * 1024).max(64 * 1024 * 1024).default(1024 * 1024),
      })
      .strict()
      .default({ stopGraceMs: 5000, shutdownTimeoutMs: 60_000, startTimeoutMs: 10_000, usageIntervalMs: 2000, cpuLimitWindowMs: 10_000, logLines: 1000, warmSpares: 'auto', maxMessageBytes: 1024 * 1024 }),
    isolation: z
      .object({
        /** Docker isolation (one container per agent through the Engine API; scripts/docker/ builds the image). */
        docker: z
          .object({
            enabled: z.union([z.literal('auto'), z.boolean()]).default('auto'),
            /** Default localhost/openstarry-agent:<version>. */
            image: z.string().min(1).max(256).optional(),
            /** Default DOCKER_HOST, else /var/run/docker.sock. */
            socketPath: z.string().min(1).optional(),
            /** "uid:gid" inside the container; default 65534:65534 (nobody). */
            user: z.string().regex(/^\d+:\d+$/, 'must be "uid:gid"').optional(),
            /** Network for agents granted net:*; default bridge. Without the grant: none. */
            network: z.string().min(1).max(64).optional(),
            /** Added to limits.memoryMb for the container's memory limit (Node's own RSS). */
            runtimeOverheadMb: z.number().int().min(0).max(1024).default(48),
            pidsLimit: z.number().int().min(8).max(4096).default(64),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    /** Orchestration (README "MQTT, remote triggers and rules"): the rules file (relative to this config) and the engine's storm limits. */
    orchestration: orchestrationConfigSchema.prefault({}),
    /** The local dashboard's JSON (GET /api/state, /api/agents, /api/telemetry, /api/rules); `false` turns it off. */
    dashboard: dashboardConfigSchema.prefault({}),
    /** The MQTT link (README "Configuration"; README "MQTT, remote triggers and rules"): upstream broker, or with no url the embedded broker on 127.0.0.1:1883. */
    mqtt: mqttConfigSchema.prefault({}),
    /** Home Assistant MQTT discovery (README "Home Assistant"); off by default. */
    homeassistant: homeassistantConfigSchema,
    log: z
      .object({ level: z.enum(['debug', 'info', 'warn', 'error']).default('info') })
      .strict()
      .default({ level: 'info' }),
  })
  .strict();

export type DaemonConfig = z.output<typeof configSchema>;
