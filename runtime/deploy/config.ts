/**
 * The daemon config's `deploy` section (issue 16; README "Deploying updates"), a zod/mini fragment for
 * runtime/daemon/config-schema.ts:
 *
 *   deploy:
 *     trustedKeys: [/etc/openstarry/trusted-keys]   # ed25519 public keys (PEM files; a folder means its *.pem)
 *     maxBundleBytes: 8388608                        # a larger bundle is refused before it is parsed
 *     groups: [greenhouses]                          # fleet deployments addressed to these groups apply here
 *
 * Without `trustedKeys`, the package's wrapper names /etc/openstarry/trusted-keys (OPENSTARRY_TRUSTED_KEYS, the
 * way it names the dashboard's token); with neither, no key is trusted and every bundle is refused.
 */
import path from 'node:path';
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { DEFAULT_MAX_BUNDLE_BYTES } from '../design/bundle-limits.ts';

/** A group name is one MQTT topic level (openstarry/groups/<group>/deploy): no wildcards, no "/". */
export const GROUP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A new schema on each call: the config is read once, at boot (runtime/daemon/config-schema.ts says why). */
export const deployConfigSchema = () =>
  z.strictObject({
    /** PEM files or folders of `*.pem`, relative to the config file. */
    trustedKeys: z.optional(z.array(z.string().check(z.minLength(1))).check(z.maxLength(64))),
    maxBundleBytes: z._default(z.int().check(z.gte(64 * 1024), z.lte(256 * 1024 * 1024)), DEFAULT_MAX_BUNDLE_BYTES),
    groups: z._default(z.array(z.string().check(z.regex(GROUP_NAME, 'must be letters, digits, ".", "_" or "-", at most 64 characters'))).check(z.maxLength(32)), []),
    /** The health window of a deployment that does not name one (a fleet document never does; `--health-window` does). */
    healthWindowMs: z._default(z.int().check(z.gte(1000), z.lte(3_600_000)), 30_000),
  });

export type DeployConfig = z.output<ReturnType<typeof deployConfigSchema>>;

/**
 * The trusted-key paths to load: `deploy.trustedKeys` (relative to the config file's folder), else
 * OPENSTARRY_TRUSTED_KEYS (one path, set by the .deb's wrapper), else none.
 */
export function trustedKeyPaths(deploy: Pick<DeployConfig, 'trustedKeys'>, configDir: string, env: Readonly<Record<string, string | undefined>>): string[] {
  if (deploy.trustedKeys !== undefined) return deploy.trustedKeys.map((p) => path.resolve(configDir, p));
  const fromEnv = env.OPENSTARRY_TRUSTED_KEYS;
  return fromEnv ? [path.resolve(fromEnv)] : [];
}
