/**
 * Signed bundles (issue 16 "Bundles and trust"; README "Deploying updates"): a template packed for transport to a
 * board, signed with ed25519, and the board's check of one before it deploys it (runtime/deploy/deploy-types.ts
 * VerifiedBundle). Format and exactly what is signed: bundle-format.ts. Trusted keys: bundle-trust.ts.
 *
 * A bundle is a design-layer TemplatePackage (template-package.ts) plus a signature, and a board validates its
 * template with the same code as a local one (blueprint.ts parseManifest, missingPlugins; the package schema's
 * path, count and size limits): a template a board would refuse to spawn is refused here, before it is staged.
 * Every refusal is one line naming the bundle and what failed:
 *   ERR_BUNDLE_INVALID    oversized, not JSON (truncated), malformed, tampered (content or hash mismatch), invalid template
 *   ERR_BUNDLE_UNTRUSTED  unsigned, signed by a key not in `deploy.trustedKeys`, or a signature that does not verify
 * Whether the version may replace the running one (no downgrade) is the deployer's check: it knows what runs.
 */
import { createHash, createPublicKey, sign, verify } from 'node:crypto';
import path from 'node:path';
import type { VerifiedBundle } from '../deploy/deploy-types.ts';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import type { ErrorCodeName } from '../errors.ts';
import type { Problem } from '../validation.ts';
import { zodProblems } from '../validation.ts';
import { blueprintHash, loadTemplateFolder, missingPlugins, parseManifest } from './blueprint.ts';
import type { BundleDocument } from './bundle-format.ts';
import { BUNDLE_FORMAT, bundleFiles, bundleSchema, contentHash } from './bundle-format.ts';
import { DEFAULT_MAX_BUNDLE_BYTES } from './bundle-limits.ts';
import type { TrustedKeys } from './bundle-trust.ts';
import { fingerprintOf, loadTrustedKeys, parsePrivateKey } from './bundle-trust.ts';
import type { TemplatePackage } from './template-package.ts';
import { templatePackageSchema } from './template-package.ts';

export { BUNDLE_EXTENSION } from './bundle-format.ts';
export { DEFAULT_MAX_BUNDLE_BYTES } from './bundle-limits.ts';
export { fingerprintOf, loadTrustedKeys } from './bundle-trust.ts';
export type { TrustedKey, TrustedKeys } from './bundle-trust.ts';

export interface PackOptions {
  /** Named in errors about the key (the CLI passes the --key path). */
  keyFile?: string;
  /** The passphrase of an encrypted signing key (`--passphrase-file`). */
  passphrase?: string;
}

export interface PackedBundle {
  bytes: Uint8Array;
  templateId: string;
  version: string;
  /** The signer's fingerprint. */
  signer: string;
}

/**
 * Reads `templateDir/agent.json` and its modules exactly as the template store does, refuses a template that
 * would be refused at spawn (ERR_MANIFEST_INVALID with every problem), and signs it.
 */
export async function packBundle(templateDir: string, privateKeyPem: string, options: PackOptions = {}): Promise<Uint8Array> {
  return (await packBundleDetailed(templateDir, privateKeyPem, options)).bytes;
}

/** packBundle, with what the CLI prints: id, version, signer. */
export async function packBundleDetailed(templateDir: string, privateKeyPem: string, options: PackOptions = {}): Promise<PackedBundle> {
  const key = parsePrivateKey(privateKeyPem, options.keyFile ?? '(signing key)', options.passphrase);
  const { blueprint, manifestText } = await loadTemplateFolder(path.join(templateDir, 'agent.json'));
  const { id, version } = blueprint.manifest;
  const template: TemplatePackage = { id, version, hash: blueprint.hash, manifest: manifestText, files: { ...blueprint.files } };
  // The same schema the board applies: a folder the board's package limits would refuse is not packed.
  const checked = templatePackageSchema.safeParse(template);
  if (!checked.success) throw new OpenStarryError(ErrorCode.BUNDLE_INVALID, `${templateDir}: cannot be packed: ${oneLine(zodProblems(checked.error))}`);
  const digest = contentHash(id, version, bundleFiles(template));
  const signer = fingerprintOf(createPublicKey(key));
  const document: BundleDocument = {
    format: BUNDLE_FORMAT,
    template,
    signature: { algorithm: 'ed25519', key: signer, contentHash: digest.toString('hex'), value: sign(null, digest, key).toString('base64') },
  };
  return { bytes: Buffer.from(`${JSON.stringify(document)}\n`, 'utf8'), templateId: id, version, signer };
}

export interface VerifyOptions {
  /** Default DEFAULT_MAX_BUNDLE_BYTES (8 MiB; bundle-limits.ts says why); the board passes `deploy.maxBundleBytes`. */
  maxBytes?: number;
  /** Where the bytes came from (a file, a URL), named in every refusal. Default "bundle". */
  origin?: string;
}

/**
 * The one rule for every deployment path, the CLI's and the fleet's (README "Deploying updates"): the trusted keys
 * are read at each deployment, so a key added to the folder is trusted at the next one and a key removed is not,
 * without a restart. A key file that does not read throws ERR_BUNDLE_KEY_INVALID naming it; no key at all is said
 * as such (ERR_BUNDLE_UNTRUSTED), not as "signed by a key that is not among the 0 trusted keys".
 */
export async function verifyWithTrustedKeys(bytes: Uint8Array, keyPaths: readonly string[], options: VerifyOptions = {}): Promise<VerifiedBundle> {
  const trust = await loadTrustedKeys(keyPaths);
  if (trust.size === 0) {
    const where = keyPaths.length === 0 ? 'none configured' : `no *.pem in ${keyPaths.join(', ')}`;
    throw new OpenStarryError(ErrorCode.BUNDLE_UNTRUSTED, `${options.origin ?? 'bundle'}: no trusted keys (deploy.trustedKeys: ${where}): every bundle is refused`);
  }
  return verifyBundle(bytes, trust, options);
}

/**
 * Checks a bundle, cheapest first: size, JSON, shape, content against its signed hash, the signature against the
 * trusted keys, then the template as a local one. Throws ERR_BUNDLE_INVALID or ERR_BUNDLE_UNTRUSTED (one line).
 */
export function verifyBundle(bytes: Uint8Array, trust: TrustedKeys, options: VerifyOptions = {}): VerifiedBundle {
  const origin = options.origin ?? 'bundle';
  const fail = (code: ErrorCodeName, why: string): OpenStarryError => new OpenStarryError(code, `${origin}: ${why}`);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_BUNDLE_BYTES;
  if (bytes.byteLength > maxBytes) throw fail(ErrorCode.BUNDLE_INVALID, `${bytes.byteLength} bytes is over the ${maxBytes}-byte limit (deploy.maxBundleBytes)`);
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'));
  } catch (err) {
    throw fail(ErrorCode.BUNDLE_INVALID, `not a bundle: not valid JSON (truncated?): ${(err as Error).message}`);
  }
  const parsed = bundleSchema.safeParse(json);
  if (!parsed.success) throw fail(ErrorCode.BUNDLE_INVALID, `malformed: ${oneLine(zodProblems(parsed.error))}`);
  const { template, signature } = parsed.data;
  const files = bundleFiles(template);
  const digest = contentHash(template.id, template.version, files);
  const name = `${template.id}@${template.version}`;
  if (!signature) throw fail(ErrorCode.BUNDLE_UNTRUSTED, `${name} is not signed`);
  if (digest.toString('hex') !== signature.contentHash) throw fail(ErrorCode.BUNDLE_INVALID, `${name}: the content does not match its signed hash (tampered with or damaged)`);
  const trusted = trust.get(signature.key);
  if (!trusted) throw fail(ErrorCode.BUNDLE_UNTRUSTED, `${name} is signed by key ${signature.key.slice(0, 16)}, which is not among the ${trust.size} trusted key(s) (deploy.trustedKeys)`);
  if (!verify(null, digest, trusted.key, Buffer.from(signature.value, 'base64'))) {
    throw fail(ErrorCode.BUNDLE_UNTRUSTED, `${name}: the signature does not verify with trusted key ${signature.key.slice(0, 16)} (${trusted.file})`);
  }
  // Signed by a trusted key: now the template itself, exactly as a local one would be checked.
  const where = `${name} agent.json`;
  let manifest;
  try {
    manifest = parseManifest(template.manifest, where);
  } catch (err) {
    const problems = ((err as OpenStarryError).details as { problems?: Problem[] } | undefined)?.problems;
    throw fail(ErrorCode.BUNDLE_INVALID, `invalid template: ${problems ? `agent.json: ${oneLine(problems)}` : (err as Error).message}`);
  }
  const problems = missingPlugins(manifest, template.files, name);
  if (manifest.id !== template.id) problems.push({ path: 'id', message: `the bundle is "${template.id}" but its agent.json says "${manifest.id}"` });
  if (manifest.version !== template.version) problems.push({ path: 'version', message: `the bundle is ${template.version} but its agent.json says ${manifest.version}` });
  if (problems.length > 0) throw fail(ErrorCode.BUNDLE_INVALID, `invalid template: agent.json: ${oneLine(problems)}`);
  if (blueprintHash(template.manifest, template.files) !== template.hash) throw fail(ErrorCode.BUNDLE_INVALID, `${name}: hash: the template hash does not match its content`);
  return {
    templateId: template.id,
    version: template.version,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    signer: trusted.fingerprint,
    files,
  };
}

/** Problems as one line: `field: reason; field: reason`. */
function oneLine(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path === '' ? '(document)' : p.path}: ${p.message.replaceAll('\n', ' ')}`).join('; ');
}
