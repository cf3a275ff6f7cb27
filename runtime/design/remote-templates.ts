/**
 * The remote source of the template store (template-store.ts, whose file comment states spec 002's rules): a
 * design-layer service (`templates.url`, wire format in template-package.ts) and the cache of its last good set
 * under OPENSTARRY_HOME (template-cache.ts). Fetching one template for a spawn, syncing the listing, and the
 * `synced`/`unreachable` state `status` reports. The store decides which source answers; this file only keeps
 * the remote set in step with the service.
 */
import path from 'node:path';
import { ErrorCode, OpenStarryError, errorToWire } from '../errors.ts';
import type { Blueprint } from './blueprint.ts';
import type { RemoteSourceOptions } from './remote-source.ts';
import { RemoteTemplateSource } from './remote-source.ts';
import { TemplateCache } from './template-cache.ts';
import type { InvalidTemplate } from './template-scan.ts';

export interface RemoteStoreOptions extends RemoteSourceOptions {
  /** Where the last good remote set is kept (`$OPENSTARRY_HOME/design-cache`). */
  cacheDir: string;
}

/** The remote source as `status` and `templates` report it. */
export interface RemoteDesignState {
  url: string;
  /** `synced`: the service answered the last request; `unreachable`: it did not, cached templates are in use. */
  state: 'synced' | 'unreachable';
  /** Last time the service answered (ISO). */
  contactAt?: string;
  /** Last full listing from the service, from this run or an earlier one (ISO). */
  syncedAt?: string;
  lastError?: string;
  cacheDir: string;
  /** Templates the service serves that this daemon holds (fresh or cached). */
  templates: number;
}

export interface RemoteEntry {
  blueprint: Blueprint;
  source: 'remote' | 'cache';
}

export interface Remote {
  source: RemoteTemplateSource;
  cache: TemplateCache;
  set: Map<string, RemoteEntry>;
  /** Keyed by template id (or `service:<file>` for what the service itself reports invalid). */
  invalid: Map<string, InvalidTemplate>;
  /** One fetch and install per id at a time: two spawns of an updated template share it. */
  inFlight: Map<string, Promise<Blueprint | undefined>>;
  state: RemoteDesignState;
  /** Warnings (unreachable, rejected templates); the daemon logs them. */
  warn: (message: string) => void;
  /** Whether the local directory has `id` (a spawn falls back to it). */
  hasLocal: (id: string) => boolean;
}

export function createRemote(options: RemoteStoreOptions, warn: (message: string) => void, hasLocal: (id: string) => boolean): Remote {
  const source = new RemoteTemplateSource(options);
  return {
    source,
    cache: new TemplateCache(options.cacheDir),
    set: new Map(),
    invalid: new Map(),
    inFlight: new Map(),
    state: { url: source.url, state: 'unreachable', cacheDir: path.resolve(options.cacheDir), templates: 0 },
    warn,
    hasLocal,
  };
}

/** Undefined: the service does not have `id` (fall back to the local directory). */
export function freshRemote(remote: Remote, id: string): Promise<Blueprint | undefined> {
  const pending = remote.inFlight.get(id);
  if (pending) return pending;
  const run = fetchRemote(remote, id).finally(() => remote.inFlight.delete(id));
  remote.inFlight.set(id, run);
  return run;
}

async function fetchRemote(remote: Remote, id: string): Promise<Blueprint | undefined> {
  const cached = remote.set.get(id);
  let pkg;
  try {
    pkg = await remote.source.get(id);
  } catch (err) {
    const code = errorToWire(err).code;
    if (code === ErrorCode.DESIGN_LAYER_UNREACHABLE) {
      unreachable(remote, err);
      if (cached) {
        cached.source = 'cache';
        return cached.blueprint;
      }
      if (remote.hasLocal(id)) return undefined;
      throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `template "${id}" is not cached and ${(err as Error).message}`, { cause: err });
    }
    contact(remote);
    if (code === ErrorCode.TEMPLATE_NOT_FOUND) {
      remote.set.delete(id);
      remote.invalid.delete(id);
      return undefined;
    }
    return rejected(remote, id, err, cached);
  }
  contact(remote);
  if (cached && remote.cache.hashOf(id) === pkg.hash) {
    cached.source = 'remote';
    return cached.blueprint;
  }
  try {
    const blueprint = await remote.cache.install(pkg, remote.source.origin(id), remote.source.url);
    remote.set.set(id, { blueprint, source: 'remote' });
    remote.invalid.delete(id);
    return blueprint;
  } catch (err) {
    return rejected(remote, id, err, cached);
  }
}

/** An invalid template from the service: reported and excluded; the cached good version, if any, is kept. */
function rejected(remote: Remote, id: string, err: unknown, cached: RemoteEntry | undefined): Blueprint {
  const wire = errorToWire(err);
  const details = (err as OpenStarryError).details as { problems?: InvalidTemplate['problems'] } | undefined;
  remote.invalid.set(id, { file: remote.source.origin(id), error: wire.message, problems: details?.problems ?? [{ path: '', message: wire.message }] });
  if (cached) {
    remote.warn(`template "${id}" from ${remote.source.url} rejected, keeping the cached good version (${cached.blueprint.manifest.version}): ${wire.message}`);
    return cached.blueprint;
  }
  remote.warn(`template "${id}" from ${remote.source.url} rejected: ${wire.message}`);
  throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `template "${id}" from the design layer is invalid:\n${wire.message}`, { cause: err, details });
}

/** At open: the cached set first, then the service's listing (or, unreachable, the cache alone). */
export async function openRemote(remote: Remote): Promise<void> {
  const cached = await remote.cache.open();
  for (const [id, blueprint] of cached.templates) remote.set.set(id, { blueprint, source: 'cache' });
  for (const bad of cached.invalid) remote.invalid.set(`cache:${bad.file}`, bad);
  if (remote.cache.syncedAt) remote.state.syncedAt = remote.cache.syncedAt;
  await syncListing(remote, true);
}

export async function syncListing(remote: Remote, atBoot = false): Promise<void> {
  let listing;
  try {
    listing = await remote.source.list();
  } catch (err) {
    unreachable(remote, err);
    if (atBoot) remote.warn(`design layer ${remote.source.url} unreachable; booting from ${remote.set.size} cached template(s): ${(err as Error).message}`);
    return;
  }
  contact(remote);
  for (const key of [...remote.invalid.keys()]) if (key.startsWith('service:')) remote.invalid.delete(key);
  for (const bad of listing.invalid) {
    remote.invalid.set(`service:${bad.file}`, { file: `${remote.source.url} ${bad.file}`, error: bad.error, problems: [{ path: '', message: bad.error }] });
  }
  const ids = new Set(listing.templates.map((t) => t.id));
  for (const id of [...remote.set.keys()]) if (!ids.has(id)) remote.set.delete(id);
  for (const entry of listing.templates) {
    const held = remote.set.get(entry.id);
    if (held && remote.cache.hashOf(entry.id) === entry.hash) {
      held.source = 'remote'; // unchanged on the service: no download, no write to the card
      continue;
    }
    await freshRemote(remote, entry.id).catch(() => undefined);
    if (remote.state.state === 'unreachable') return; // went away mid-sync: keep the cache as it is
  }
  try {
    await remote.cache.synced(remote.source.url, ids, new Date());
    remote.state.syncedAt = remote.cache.syncedAt;
  } catch (err) {
    remote.warn(`design-layer cache index not written: ${(err as Error).message}`);
  }
}

function contact(remote: Remote): void {
  remote.state.state = 'synced';
  remote.state.contactAt = new Date().toISOString();
  delete remote.state.lastError;
}

function unreachable(remote: Remote, err: unknown): void {
  if (remote.state.state === 'synced' || remote.state.lastError === undefined) remote.warn(`design layer unreachable: ${(err as Error).message}`);
  remote.state.state = 'unreachable';
  remote.state.lastError = (err as Error).message;
  for (const entry of remote.set.values()) entry.source = 'cache';
}
