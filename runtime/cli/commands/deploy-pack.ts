/**
 * `openstarry deploy pack <templateDir> --key KEY.pem [-o FILE]` (README "Deploying updates"): signs a template folder
 * into one bundle file a board verifies against its `deploy.trustedKeys` (runtime/design/bundle.ts). Runs without a
 * daemon. Prints the file, the template's id@version, the file's sha256 (what a fleet deployment document names)
 * and the signing key's fingerprint. Whether the version is newer than what a board runs is the board's check.
 */
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CommandContext } from '../args.ts';
import { ExitCode, stringOption, UsageError } from '../args.ts';
import { readSecretFile } from '../secret-file.ts';

export const DEPLOY_PACK_OPTIONS = { key: { type: 'string' }, 'passphrase-file': { type: 'string' }, out: { type: 'string', short: 'o' } } as const;

export const DEPLOY_PACK_USAGE = [
  '  deploy pack <templateDir> --key KEY.pem [--passphrase-file FILE] [-o FILE]',
  '                      sign a template folder into a bundle (default FILE: <id>-<version>.osb here);',
  '                      KEY.pem is an ed25519 private key (openssl genpkey -algorithm ed25519 -out KEY.pem),',
  '                      encrypted or not (--passphrase-file: the first line of FILE is its passphrase)',
] as const;

export async function runDeployPack(ctx: CommandContext): Promise<number> {
  const dirArg = ctx.args[1];
  if (dirArg === undefined) throw new UsageError('deploy pack: the template folder is required: deploy pack <templateDir> --key KEY.pem');
  const keyArg = stringOption(ctx.options, 'key');
  if (keyArg === undefined) throw new UsageError('deploy pack: --key KEY.pem (an ed25519 private key) is required');
  const dir = path.resolve(ctx.io.cwd, dirArg);
  const keyFile = path.resolve(ctx.io.cwd, keyArg);
  const { BUNDLE_EXTENSION, DEFAULT_MAX_BUNDLE_BYTES, packBundleDetailed } = await import('../../design/bundle.ts');
  let pem: string;
  try {
    pem = await readFile(keyFile, 'utf8');
  } catch (err) {
    ctx.io.err(`deploy pack: ${keyFile}: cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    return ExitCode.FAILED;
  }
  const passphraseFile = stringOption(ctx.options, 'passphrase-file');
  let passphrase: string | undefined;
  if (passphraseFile !== undefined) {
    passphrase = await readSecretFile(ctx, 'deploy pack', passphraseFile);
    if (passphrase === undefined) return ExitCode.FAILED;
  }
  const packed = await packBundleDetailed(dir, pem, { keyFile, ...(passphrase === undefined ? {} : { passphrase }) });
  const outArg = stringOption(ctx.options, 'out');
  const out = path.resolve(ctx.io.cwd, outArg ?? `${packed.templateId}-${packed.version}${BUNDLE_EXTENSION}`);
  // Written beside and renamed: an interrupted pack never leaves a half bundle under the final name.
  const partial = `${out}.partial-${process.pid}`;
  try {
    await writeFile(partial, packed.bytes);
    await rename(partial, out);
  } finally {
    await rm(partial, { force: true });
  }
  // Loaded here, not at the top: every command's module is in the CLI's static graph, and node:crypto costs a Node 22
  // process ~4 ms to load (outside its startup snapshot), which `openstarry ps` must not pay (issue 12).
  const { createHash } = await import('node:crypto');
  const sha256 = createHash('sha256').update(packed.bytes).digest('hex');
  const result = { file: out, templateId: packed.templateId, version: packed.version, sha256, bytes: packed.bytes.byteLength, signer: packed.signer };
  if (ctx.json) ctx.io.out(JSON.stringify(result));
  else {
    ctx.io.out(`packed ${packed.templateId}@${packed.version} -> ${out} (${result.bytes} bytes)`);
    ctx.io.out(`sha256 ${sha256}`);
    ctx.io.out(`signed by key ${packed.signer}`);
  }
  if (result.bytes > DEFAULT_MAX_BUNDLE_BYTES) ctx.io.err(`deploy pack: warning: ${result.bytes} bytes is over the boards' default deploy.maxBundleBytes (${DEFAULT_MAX_BUNDLE_BYTES}); raise it on the boards`);
  return ExitCode.OK;
}
