/**
 * The design-layer service (spec 002 phase 2 "Agent Design Layer service online ... query interface such as
 * GET /templates/master-agent"), shipped as `openstarry design-layer serve --dir D`. It serves a folder of
 * templates to any number of daemons (`templates.url`); wire format in template-package.ts.
 *
 * The folder is read on every request, so a template edited on the service reaches agents spawned afterwards
 * (the daemons' running agents keep their frozen blueprints). Only templates that validate are served; the
 * invalid ones are listed with their errors so an operator sees them from any daemon's `openstarry templates`.
 * Read-only: GET and HEAD, nothing else.
 *
 * With a bundles folder (`--bundles DIR`, README "Deploying updates") it also serves signed bundles to boards:
 *   GET /bundles                    -> every id with its versions (sha256 and size of each file), and the files that are not bundles
 *   GET /bundles/:id                -> that id's versions
 *   GET /bundles/:id/:version       -> the bundle file's bytes, as `openstarry deploy pack` wrote them
 * Boards verify each bundle themselves (bundle-directory.ts says why the service does not).
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorCode, errorToWire, httpStatusOf, OpenStarryError } from '../errors.ts';
import type { ErrorCodeName } from '../errors.ts';
import type { BundleFile, BundleScan } from './bundle-directory.ts';
import { BundleDirectory } from './bundle-directory.ts';
import { AGENT_ID } from './manifest-schema.ts';
import type { TemplateListing, TemplatePackage } from './template-package.ts';
import { scanTemplateDir } from './template-scan.ts';
import type { TemplateScan } from './template-scan.ts';

export interface DesignLayerServerOptions {
  dir: string;
  /** A folder of signed bundles (`*.osb`) to serve under /bundles. */
  bundles?: string;
  host?: string;
  /** 0 picks a free port. */
  port?: number;
  log?: (line: string) => void;
}

export class DesignLayerServer {
  readonly #server: Server;
  readonly #dir: string;
  readonly #log: (line: string) => void;
  readonly #bundles: BundleDirectory | undefined;
  #closing: Promise<void> | undefined;

  /** The folder as it was when the service started (the CLI prints it). */
  readonly initial: TemplateScan;

  /** The bundles folder as it was when the service started, when it serves one. */
  readonly initialBundles: BundleScan | undefined;

  private constructor(server: Server, dir: string, log: (line: string) => void, initial: TemplateScan, bundles?: { dir: BundleDirectory; scan: BundleScan }) {
    this.initial = initial;
    this.initialBundles = bundles?.scan;
    this.#bundles = bundles?.dir;
    this.#server = server;
    this.#dir = dir;
    this.#log = log;
  }

  static async listen(options: DesignLayerServerOptions): Promise<DesignLayerServer> {
    const log = options.log ?? (() => undefined);
    // Fails early, with the reason, when the folder cannot be read at all.
    const initial = await scanTemplateDir(options.dir);
    const bundles = options.bundles === undefined ? undefined : await openBundles(options.bundles);
    const server = createServer();
    const service = new DesignLayerServer(server, options.dir, log, initial, bundles);
    server.on('request', (req, res) => void service.#handle(req, res));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port ?? 7410, options.host ?? '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    return service;
  }

  get url(): string {
    const a = this.#server.address() as AddressInfo;
    return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
  }

  /** Stops listening and ends idle keep-alive connections. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= new Promise<void>((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
    return this.#closing;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, ...failure(ErrorCode.METHOD_NOT_ALLOWED, 'the design layer is read-only: GET and HEAD only'));
      const url = new URL(req.url ?? '/', 'http://design-layer');
      if (url.pathname === '/templates' || url.pathname === '/templates/') return send(res, 200, await this.#listing());
      const match = /^\/templates\/([^/]+)$/.exec(url.pathname);
      if (match?.[1]) return send(res, ...(await this.#package(decodeURIComponent(match[1]))));
      const bundle = /^\/bundles(?:\/([^/]+)(?:\/([^/]+))?)?\/?$/.exec(url.pathname);
      if (bundle) return await this.#bundle(res, bundle[1] === undefined ? undefined : decodeURIComponent(bundle[1]), bundle[2] === undefined ? undefined : decodeURIComponent(bundle[2]));
      if (url.pathname === '/healthz') return send(res, 200, { ok: true });
      return send(res, ...failure(ErrorCode.NOT_FOUND, `no route ${url.pathname}`));
    } catch (err) {
      this.#log(`request ${req.url ?? ''} failed: ${(err as Error).message}`);
      return send(res, 500, { error: errorToWire(err) });
    }
  }

  async #listing(): Promise<TemplateListing> {
    const scan = await scanTemplateDir(this.#dir);
    return {
      templates: [...scan.templates.values()].map((b) => ({ id: b.manifest.id, version: b.manifest.version, hash: b.hash, ...(b.manifest.description ? { description: b.manifest.description } : {}) })),
      invalid: scan.invalid.map((i) => ({ file: i.file, error: i.error })),
    };
  }

  /** `/bundles`, `/bundles/:id`, `/bundles/:id/:version`. */
  async #bundle(res: ServerResponse, id: string | undefined, version: string | undefined): Promise<void> {
    if (!this.#bundles) return send(res, ...failure(ErrorCode.NOT_FOUND, 'this design layer serves no bundles (design-layer serve --bundles DIR)'));
    const scan = await this.#bundles.scan();
    if (id === undefined) return send(res, 200, { bundles: [...scan.bundles].map(([bid, versions]) => ({ id: bid, versions: versionsOf(versions) })), invalid: scan.invalid });
    const versions = scan.bundles.get(id);
    if (!versions) return send(res, ...failure(ErrorCode.TEMPLATE_NOT_FOUND, `no bundle of "${id}"`));
    if (version === undefined) return send(res, 200, { id, versions: versionsOf(versions) });
    const found = versions.get(version);
    if (!found) return send(res, ...failure(ErrorCode.TEMPLATE_NOT_FOUND, `no bundle of ${id}@${version}`));
    const bytes = await readFile(found.file);
    this.#log(`GET /bundles/${id}/${version} -> ${path.basename(found.file)} ${found.sha256.slice(0, 12)}`);
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength, 'cache-control': 'no-store', etag: `"${createHash('sha256').update(bytes).digest('hex')}"` });
    res.end(res.req.method === 'HEAD' ? undefined : bytes);
  }

  async #package(id: string): Promise<[number, unknown]> {
    if (!AGENT_ID.test(id)) return failure(ErrorCode.TEMPLATE_NOT_FOUND, `"${id}" is not a template id`);
    const scan = await scanTemplateDir(this.#dir);
    const found = scan.templates.get(id);
    if (!found) {
      const bad = scan.invalid.find((i) => path.basename(path.dirname(i.file)) === id);
      if (bad) return failure(ErrorCode.TEMPLATE_INVALID, bad.error);
      return failure(ErrorCode.TEMPLATE_NOT_FOUND, `no template "${id}"`);
    }
    // The manifest text from the same read as the modules: the hash sent is the hash of exactly these bytes.
    const pkg: TemplatePackage = { id, version: found.manifest.version, hash: found.hash, manifest: scan.manifestTexts.get(id) ?? '', files: { ...found.files } };
    this.#log(`GET /templates/${id} -> ${found.manifest.version} ${found.hash.slice(0, 12)}`);
    return [200, pkg];
  }
}

/** The bundles folder, read once at start so a folder that cannot be read fails `serve` with the reason. */
async function openBundles(dir: string): Promise<{ dir: BundleDirectory; scan: BundleScan }> {
  const bundles = new BundleDirectory(dir);
  try {
    return { dir: bundles, scan: await bundles.scan() };
  } catch (err) {
    throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `bundles directory ${bundles.dir} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

function versionsOf(versions: ReadonlyMap<string, BundleFile>): { version: string; sha256: string; bytes: number }[] {
  return [...versions.values()].map((b) => ({ version: b.version, sha256: b.sha256, bytes: b.bytes }));
}

/** An error answer: the code's HTTP status from the registry (README "Errors") and `{ error: { code, message } }`. */
function failure(code: ErrorCodeName, message: string): [number, unknown] {
  return [httpStatusOf(code), { error: { code, message } }];
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : text);
}
