/**
 * The daemon config (README "Configuration"), YAML validated against this schema. Unknown keys are errors — a typo such
 * as `masterAgnet` must not be silently ignored on a board nobody is watching. Keys for parts that this build
 * does not include yet are added by the issues that build them.
 */
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { AGENT_ID } from '../design/manifest-schema.ts';
import { mqttConfigSchema } from '../link/mqtt-config.ts';
import { dashboardConfigSchema } from '../dashboard/config.ts';
import { orchestrationConfigSchema } from '../orchestrator/config.ts';
import { homeassistantConfigSchema } from '../homeassistant/config.ts';
import { deployConfigSchema } from '../deploy/config.ts';

/**
 * Built on each call and not kept (issue 12, README "Performance"): the daemon reads its config once, at boot, and an
 * idle daemon need not hold the schema's objects (the whole config's ~300 KB of heap with its sections).
 */
export const configSchema = () =>
  z.strictObject({
    /** Names this board upstream (MQTT topic prefix). Default: the host name. */
    deviceId: z.optional(z.string().check(z.regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'must be letters, digits, ".", "_" or "-", at most 64 characters'))),
    /** `auto` detects from /proc/device-tree; a profile name forces one (`sim` for the simulated board). */
    board: z._default(z.string().check(z.regex(/^[a-z0-9][a-z0-9-]*$/, 'must be "auto" or a board profile name such as "rpi-4b" or "sim"')), 'auto'),
    templates: z._default(
      z.strictObject({
        /** Local template directory (relative to the config file). Default: the templates shipped in agents/. */
        dir: z.optional(z.string().check(z.minLength(1))),
        /**
         * A remote design-layer service (`openstarry design-layer serve`): its templates win over local ones with
         * the same id, its last good set is cached in OPENSTARRY_HOME, and the daemon boots from that cache when
         * the service is unreachable (spec 002 phase 2).
         */
        url: z.optional(z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })),
        /** Per request to the service; past it the service counts as unreachable and the cache is used. */
        timeoutMs: z._default(z.int().check(z.gte(100), z.lte(60_000)), 3000),
      }),
      { timeoutMs: 3000 },
    ),
    /**
     * Devices beyond the board profile's own (on the sim board: the default set). Each entry is `{ id, driver,
     * rateLimit?, ...driver fields }`, validated by the HAL with the driver's own schema at boot; an entry with the
     * id of a board default replaces it.
     */
    devices: z._default(z.array(z.record(z.string(), z.unknown())), []),
    /** Template id of the master agent spawned in boot phase 3. */
    masterAgent: z._default(z.string().check(z.regex(AGENT_ID, 'must be a template id')), 'master'),
    agents: z._default(
      z.strictObject({
        /** How long SIGTERM waits for stop(ctx) before the isolate is terminated. */
        stopGraceMs: z._default(z.int().check(z.gte(0), z.lte(60_000)), 5000),
        /**
         * The whole shutdown keeps within this. Below the packaged unit's TimeoutStopSec (90 s), so systemd never
         * kills the daemon before the HAL has put every actuator in its safe state.
         */
        shutdownTimeoutMs: z._default(z.int().check(z.gte(1000), z.lte(80_000)), 60_000),
        /** How long spawnAgent waits for `running`; an agent not running by then is stopped as a crash (`start-timeout: ...`). */
        startTimeoutMs: z._default(z.int().check(z.gte(100), z.lte(600_000)), 10_000),
        /** How often cpu/memory of each agent is sampled for `ps`, `status` and the memory limit. */
        usageIntervalMs: z._default(z.int().check(z.gte(200), z.lte(3_600_000)), 2000),
        /**
         * How long an agent's CPU use must stay over its limits.cpuPercent before it is stopped (reason
         * `cpu-limit: ...`); shorter bursts are allowed. Effectively at least usageIntervalMs. Not applied to
         * drivers that throttle CPU themselves (docker).
         */
        cpuLimitWindowMs: z._default(z.int().check(z.gte(200), z.lte(3_600_000)), 10_000),
        /** Log lines kept per agent for `openstarry logs`. */
        logLines: z._default(z.int().check(z.gte(10), z.lte(100_000)), 1000),
        /**
         * Worker threads kept booted for agents with the default 64 MB memory limit, so spawning one skips thread
         * start-up. Each costs about 6-10 MB of RSS while idle. `auto`: one while the rules have a spawn() action,
         * else none (runtime/daemon/spare-policy.ts); 0 keeps the daemon as lean as it can be.
         */
        warmSpares: z._default(z.union([z.literal('auto'), z.int().check(z.gte(0), z.lte(4))]), 'auto'),
        /**
         * Largest message an agent's isolate may send the daemon (a log line, events.publish, a HAL call); one
         * over it stops the agent (`message-too-large: <n> bytes > <cap>`). Refused before it is buffered whole.
         */
        maxMessageBytes: z._default(z.int().check(z.gte(64 * 1024), z.lte(64 * 1024 * 1024)), 1024 * 1024),
      }),
      { stopGraceMs: 5000, shutdownTimeoutMs: 60_000, startTimeoutMs: 10_000, usageIntervalMs: 2000, cpuLimitWindowMs: 10_000, logLines: 1000, warmSpares: 'auto', maxMessageBytes: 1024 * 1024 },
    ),
    isolation: z.prefault(
      z.strictObject({
        /** Docker isolation (one container per agent through the Engine API; scripts/docker/ builds the image). */
        docker: z.prefault(
          z.strictObject({
            enabled: z._default(z.union([z.literal('auto'), z.boolean()]), 'auto'),
            /** Default localhost/openstarry-agent:<version>. */
            image: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
            /** Default DOCKER_HOST, else /var/run/docker.sock. */
            socketPath: z.optional(z.string().check(z.minLength(1))),
            /** "uid:gid" inside the container; default 65534:65534 (nobody). */
            user: z.optional(z.string().check(z.regex(/^\d+:\d+$/, 'must be "uid:gid"'))),
            /** Network for agents granted net:*; default bridge. Without the grant: none. */
            network: z.optional(z.string().check(z.minLength(1), z.maxLength(64))),
            /** Added to limits.memoryMb for the container's memory limit (Node's own RSS). */
            runtimeOverheadMb: z._default(z.int().check(z.gte(0), z.lte(1024)), 48),
            pidsLimit: z._default(z.int().check(z.gte(8), z.lte(4096)), 64),
          }),
          {},
        ),
      }),
      {},
    ),
    /** Orchestration (README "MQTT, remote triggers and rules"): the rules file (relative to this config) and the engine's storm limits. */
    orchestration: z.prefault(orchestrationConfigSchema(), {}),
    /** The local dashboard's JSON (GET /api/state, /api/agents, /api/telemetry, /api/rules); `false` turns it off. */
    dashboard: z.prefault(dashboardConfigSchema(), {}),
    /** The MQTT link (README "Configuration"; README "MQTT, remote triggers and rules"): upstream broker, or with no url the embedded broker on 127.0.0.1:1883. */
    mqtt: z.prefault(mqttConfigSchema(), {}),
    /** Home Assistant MQTT discovery (README "Home Assistant"); off by default. */
    homeassistant: homeassistantConfigSchema,
    /** Signed deployments (README "Deploying updates"): trusted signing keys, the bundle size cap, this board's fleet groups. */
    deploy: z.prefault(deployConfigSchema(), {}),
    log: z._default(z.strictObject({ level: z._default(z.enum(['debug', 'info', 'warn', 'error']), 'info') }), { level: 'info' }),
  });

export type DaemonConfig = z.output<ReturnType<typeof configSchema>>;
