/**
 * The signed bundle's file format (issue 16 "Bundles and trust"; README "Deploying updates"): what
 * `openstarry deploy pack` writes and what a board verifies before it deploys anything. One JSON document:
 *
 *   {
 *     "format": "openstarry-bundle/1",
 *     "template": { id, version, hash, manifest, files },   // a TemplatePackage (template-package.ts), as the design layer sends one
 *     "signature": { "algorithm": "ed25519", "key": "<fingerprint>", "contentHash": "<hex>", "value": "<base64>" }
 *   }
 *
 * The content hash is sha256 over this UTF-8 statement, one line per entry, each ending in "\n":
 *
 *   openstarry-bundle/1
 *   id "<id>"
 *   version "<version>"
 *   file "agent.json" <bytes> <sha256 hex>
 *   file "<module path>" <bytes> <sha256 hex>       one per module, sorted by UTF-16 code units (code-unit-order.ts)
 *
 * Strings are JSON-quoted, so no path can forge a line; bytes and sha256 are of each file's UTF-8 bytes (what the
 * board writes on disk). The signature is ed25519 (RFC 8032, as node:crypto's sign(null, ...)) over the 32 raw
 * bytes of that hash; `key` is the signer's fingerprint: sha256 (hex) of its public key in SPKI DER. The package's
 * own `hash` (blueprint.ts blueprintHash) is carried too and recomputed, as for a package from the design layer.
 */
import { createHash } from 'node:crypto';
import * as z from 'zod/mini';
import '../zod-messages.ts';
import { byCodeUnits } from './code-unit-order.ts';
import type { TemplatePackage } from './template-package.ts';
import { templatePackageSchema } from './template-package.ts';

export const BUNDLE_FORMAT = 'openstarry-bundle/1';

/** File name extension `openstarry deploy pack` writes and `design-layer serve --bundles` serves. */
export const BUNDLE_EXTENSION = '.osb';


const HEX64 = /^[0-9a-f]{64}$/;

export const bundleSignatureSchema = z.strictObject({
  algorithm: z.literal('ed25519'),
  key: z.string().check(z.regex(HEX64, 'must be a sha256 fingerprint (64 hex digits)')),
  contentHash: z.string().check(z.regex(HEX64, 'must be a sha256 (64 hex digits)')),
  // An ed25519 signature is 64 bytes: 88 base64 characters.
  value: z.string().check(z.regex(/^[A-Za-z0-9+/]{86}==$/, 'must be a base64 ed25519 signature (64 bytes)')),
});

export const bundleSchema = z.strictObject({
  format: z.literal(BUNDLE_FORMAT, `must be "${BUNDLE_FORMAT}" (a bundle from a newer openstarry?)`),
  template: templatePackageSchema,
  /** Optional in the schema so an unsigned bundle is refused as untrusted (ERR_BUNDLE_UNTRUSTED), not as malformed. */
  signature: z.optional(bundleSignatureSchema),
});

export type BundleDocument = z.output<typeof bundleSchema>;
export type BundleSignature = z.output<typeof bundleSignatureSchema>;

/** The template's files as the board writes them: `agent.json` and every module, by relative posix path. */
export function bundleFiles(pkg: TemplatePackage): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>([['agent.json', Buffer.from(pkg.manifest, 'utf8')]]);
  for (const rel of Object.keys(pkg.files).sort(byCodeUnits)) files.set(rel, Buffer.from(pkg.files[rel] ?? '', 'utf8'));
  return files;
}

/** The signed statement (file comment) for these files. `files` must hold agent.json first, then modules sorted. */
export function contentStatement(id: string, version: string, files: ReadonlyMap<string, Uint8Array>): string {
  let text = `${BUNDLE_FORMAT}\nid ${JSON.stringify(id)}\nversion ${JSON.stringify(version)}\n`;
  for (const [rel, bytes] of files) text += `file ${JSON.stringify(rel)} ${bytes.byteLength} ${createHash('sha256').update(bytes).digest('hex')}\n`;
  return text;
}

/** sha256 of the statement: the 32 bytes the signature covers. */
export function contentHash(id: string, version: string, files: ReadonlyMap<string, Uint8Array>): Buffer {
  return createHash('sha256').update(contentStatement(id, version, files), 'utf8').digest();
}
