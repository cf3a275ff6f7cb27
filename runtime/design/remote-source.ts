/**
 * The daemon's client of a remote design-layer service (`templates.url`; wire format in template-package.ts).
 * Every answer is untrusted: bodies are size-capped while they are read, parsed, and checked against the
 * schema before anything looks at them. Failures are typed so the store can tell "the service is down"
 * (ERR_DESIGN_LAYER_UNREACHABLE: connection refused, timeout, 5xx — fall back to the cache) from "the service
 * answered, and the answer is wrong" (ERR_TEMPLATE_NOT_FOUND for a 404, ERR_TEMPLATE_INVALID for a bad body).
 */
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { ErrorCodeName } from '../errors.ts';
import { formatProblems, zodProblems } from '../validation.ts';
import type { TemplateListing, TemplatePackage } from './template-package.ts';
import { MAX_PACKAGE_BYTES, templateListingSchema, templatePackageSchema } from './template-package.ts';

export interface RemoteSourceOptions {
  /** Base URL of the service, e.g. `http://design.local:7410` (a trailing slash is fine). */
  url: string;
  /** Per request, connection to last byte. */
  timeoutMs?: number;
  /** Injected for tests; the real one is the global fetch (undici). */
  fetch?: typeof fetch;
}

export class RemoteTemplateSource {
  readonly url: string;
  readonly #timeoutMs: number;
  readonly #fetch: typeof fetch;

  constructor(options: RemoteSourceOptions) {
    this.url = options.url.replace(/\/+$/, '');
    this.#timeoutMs = options.timeoutMs ?? 3000;
    this.#fetch = options.fetch ?? fetch;
  }

  /** `GET /templates`. */
  async list(): Promise<TemplateListing> {
    const where = `${this.url}/templates`;
    const body = await this.#get(where);
    const parsed = templateListingSchema.safeParse(body);
    if (!parsed.success) throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `${where}: the listing is malformed:\n${formatProblems(where, zodProblems(parsed.error))}`);
    return parsed.data;
  }

  /** `GET /templates/:id`: the package, shape-checked (the template itself is validated by the cache). */
  async get(id: string): Promise<TemplatePackage> {
    const where = this.origin(id);
    const body = await this.#get(where);
    const parsed = templatePackageSchema.safeParse(body);
    if (!parsed.success) {
      const problems = zodProblems(parsed.error);
      throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, formatProblems(where, problems), { details: { file: where, problems } });
    }
    if (parsed.data.id !== id) throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `${where}: id: asked for "${id}", the service sent "${parsed.data.id}"`);
    return parsed.data;
  }

  origin(id: string): string {
    return `${this.url}/templates/${encodeURIComponent(id)}`;
  }

  async #get(where: string): Promise<unknown> {
    let response: Response;
    const signal = AbortSignal.timeout(this.#timeoutMs);
    try {
      response = await this.#fetch(where, { signal, headers: { accept: 'application/json' }, redirect: 'error' });
    } catch (err) {
      const why = signal.aborted ? `no answer within ${this.#timeoutMs} ms` : describeFetchError(err);
      throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `design layer ${where}: ${why}`, { cause: err });
    }
    let text: string;
    try {
      text = await readCapped(response, MAX_PACKAGE_BYTES);
    } catch (err) {
      if (err instanceof OpenStarryError) throw new OpenStarryError(err.code, `${where}: ${err.message}`);
      throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `design layer ${where}: the answer broke off: ${describeFetchError(err)}`, { cause: err });
    }
    if (response.status === 404) throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `${where}: the design layer has no such template`);
    if (response.status >= 500) throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `design layer ${where}: HTTP ${response.status}`);
    if (response.status !== 200) throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `${where}: HTTP ${response.status}: ${serviceMessage(text)}`);
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new OpenStarryError(ErrorCode.TEMPLATE_INVALID, `${where}: (document): not valid JSON: ${(err as Error).message}`);
    }
  }
}

/** Reads the body, stopping (and cancelling the transfer) as soon as it passes `max` bytes. */
async function readCapped(response: Response, max: number): Promise<string> {
  return (await readCappedBytes(response, max, ErrorCode.TEMPLATE_INVALID)).toString('utf8');
}

/** The body's bytes, stopping (and cancelling the transfer) as soon as it passes `max`; over it: `code`. Also for bundles (bundle-fetch.ts). */
export async function readCappedBytes(response: Response, max: number, code: ErrorCodeName): Promise<Buffer> {
  const declared = Number(response.headers.get('content-length') ?? 0);
  if (declared > max) {
    await response.body?.cancel();
    throw new OpenStarryError(code, `answer of ${declared} bytes is larger than the ${max}-byte limit`);
  }
  if (!response.body) return Buffer.alloc(0);
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new OpenStarryError(code, `answer is larger than the ${max}-byte limit`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

/** The service's own `{ error: { message } }` (its validation report for a 422), else the start of the body. */
function serviceMessage(text: string): string {
  try {
    const body = JSON.parse(text) as { error?: { message?: unknown } };
    if (typeof body.error?.message === 'string') return body.error.message.slice(0, 16 * 1024);
  } catch {
    // not JSON: fall through
  }
  return text.slice(0, 200);
}

export function describeFetchError(err: unknown): string {
  // undici wraps the socket error: "fetch failed" with cause ECONNREFUSED / ENOTFOUND / ...
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  if (cause?.code) return `${cause.code}${cause.message ? ` (${cause.message})` : ''}`;
  return (err as Error).message;
}
