/**
 * A board's download of a signed bundle (issue 16 "For a fleet, over the broker"; README "Deploying updates"): from
 * the design-layer service (`templates.url`, `GET /bundles/<id>/<version>`, design-layer-server.ts) or from a
 * deployment document's own `url`. The body is size-capped while it streams (`deploy.maxBundleBytes`), so a
 * hostile or broken server cannot make the board buffer more; what arrives is only bytes: the caller checks the
 * document's sha256 and then verifyBundle (bundle.ts) before anything else looks at them.
 *
 * Errors: ERR_DESIGN_LAYER_UNREACHABLE when the server did not answer (refused, timeout, 5xx, broke off: try again
 * later), ERR_TEMPLATE_NOT_FOUND for a 404, ERR_BUNDLE_INVALID for an oversized or otherwise wrong answer.
 */
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { describeFetchError, readCappedBytes } from './remote-source.ts';

export interface FetchBundleOptions {
  /** The board's `deploy.maxBundleBytes`. */
  maxBytes: number;
  /** Connection to last byte. */
  timeoutMs: number;
  /** Injected for tests; the real one is the global fetch (undici). */
  fetch?: typeof fetch;
}

/** `<baseUrl>/bundles/<id>/<version>`: where the design-layer service serves one bundle. */
export function bundleUrl(baseUrl: string, id: string, version: string): string {
  return `${baseUrl.replace(/\/+$/, '')}/bundles/${encodeURIComponent(id)}/${encodeURIComponent(version)}`;
}

/** The bundle of `id@version` from the design-layer service at `baseUrl`. */
export function fetchBundle(baseUrl: string, id: string, version: string, options: FetchBundleOptions): Promise<Uint8Array> {
  return fetchBundleUrl(bundleUrl(baseUrl, id, version), options);
}

/** A bundle from any http(s) URL (a deployment document's `url`). Redirects are followed: the content is checked by hash and signature. */
export async function fetchBundleUrl(url: string, options: FetchBundleOptions): Promise<Uint8Array> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OpenStarryError(ErrorCode.BUNDLE_INVALID, `bundle url "${url.slice(0, 200)}" is not a URL`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new OpenStarryError(ErrorCode.BUNDLE_INVALID, `bundle url ${url}: only http:// and https:// are fetched`);
  const signal = AbortSignal.timeout(options.timeoutMs);
  let response: Response;
  try {
    response = await (options.fetch ?? fetch)(url, { signal, headers: { accept: 'application/octet-stream, application/json' } });
  } catch (err) {
    const why = signal.aborted ? `no answer within ${options.timeoutMs} ms` : describeFetchError(err);
    throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `bundle ${url}: ${why}`, { cause: err });
  }
  if (response.status !== 200) {
    await response.body?.cancel();
    if (response.status === 404) throw new OpenStarryError(ErrorCode.TEMPLATE_NOT_FOUND, `bundle ${url}: the server has no such bundle (HTTP 404)`);
    if (response.status >= 500) throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `bundle ${url}: HTTP ${response.status}`);
    throw new OpenStarryError(ErrorCode.BUNDLE_INVALID, `bundle ${url}: HTTP ${response.status}`);
  }
  try {
    return await readCappedBytes(response, options.maxBytes, ErrorCode.BUNDLE_INVALID);
  } catch (err) {
    if (err instanceof OpenStarryError) throw new OpenStarryError(err.code, `bundle ${url}: ${err.message} (deploy.maxBundleBytes)`);
    const why = signal.aborted ? `no answer within ${options.timeoutMs} ms` : `the answer broke off: ${describeFetchError(err)}`;
    throw new OpenStarryError(ErrorCode.DESIGN_LAYER_UNREACHABLE, `bundle ${url}: ${why}`, { cause: err });
  }
}
