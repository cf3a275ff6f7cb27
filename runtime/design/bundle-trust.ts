/**
 * The keys a board trusts to sign bundles (issue 16 "Bundles and trust"; README "Deploying updates"):
 * `deploy.trustedKeys`, a list of PEM files, where a directory means its `*.pem` (the .deb lists
 * /etc/openstarry/trusted-keys/). Each file holds one ed25519 public key (`openssl pkey -pubout`); anything else —
 * another key type, a private key, not PEM — is refused with the file's name, so a board never boots believing
 * it trusts a key it cannot use. A key is known by its fingerprint: sha256 (hex) of its SPKI DER encoding.
 */
import { createHash, createPrivateKey, createPublicKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ErrorCode, OpenStarryError } from '../errors.ts';
import { byCodeUnits } from './code-unit-order.ts';

export interface TrustedKey {
  /** sha256 (hex) of the public key in SPKI DER. */
  readonly fingerprint: string;
  /** The PEM file it was read from (messages and `status`). */
  readonly file: string;
  readonly key: KeyObject;
}

/** Fingerprint -> key. */
export type TrustedKeys = ReadonlyMap<string, TrustedKey>;

/** Bounds on what is read: a key PEM is ~113 bytes; a folder of thousands of keys is a mistake, not a fleet. */
export const TRUST_LIMITS = { maxKeys: 256, maxFileBytes: 16 * 1024 } as const;

export function fingerprintOf(key: KeyObject): string {
  return createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');
}

/** Reads every listed PEM file (a directory: its `*.pem`, sorted). An empty list trusts nothing: every bundle is refused. */
export async function loadTrustedKeys(paths: readonly string[]): Promise<TrustedKeys> {
  const keys = new Map<string, TrustedKey>();
  for (const file of await keyFiles(paths)) {
    const key = await readPublicKey(file);
    if (!keys.has(key.fingerprint)) keys.set(key.fingerprint, key);
    if (keys.size > TRUST_LIMITS.maxKeys) throw keyError(file, `more than ${TRUST_LIMITS.maxKeys} trusted keys`);
  }
  return keys;
}

/**
 * The signing key for `openstarry deploy pack`: an ed25519 private key in PEM, encrypted (PKCS#8 with a passphrase,
 * `openssl genpkey -algorithm ed25519 -aes-256-cbc`) or not.
 */
export function parsePrivateKey(pem: string, file: string, passphrase?: string): KeyObject {
  // Told by its PEM label (PKCS#8 "ENCRYPTED PRIVATE KEY", or a legacy "Proc-Type: 4,ENCRYPTED" header): what OpenSSL
  // says when asked without a passphrase differs between Node versions ("interrupted or cancelled" on Node 20).
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem);
  if (encrypted && passphrase === undefined) throw keyError(file, 'is encrypted: give its passphrase with --passphrase-file FILE');
  let key: KeyObject;
  try {
    key = createPrivateKey(passphrase === undefined ? pem : { key: pem, format: 'pem', passphrase });
  } catch (err) {
    if (encrypted) throw keyError(file, `cannot be decrypted with the passphrase given (${(err as Error).message})`, err);
    throw keyError(file, `not a PEM private key (${(err as Error).message}); make one with: openssl genpkey -algorithm ed25519 -out ${path.basename(file)}`, err);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(file, `is a ${key.asymmetricKeyType ?? 'symmetric'} key; bundles are signed with ed25519 only (openssl genpkey -algorithm ed25519)`);
  return key;
}

async function keyFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const given of paths) {
    const absolute = path.resolve(given);
    let isDir: boolean;
    try {
      isDir = (await stat(absolute)).isDirectory();
    } catch (err) {
      throw keyError(absolute, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
    }
    if (!isDir) {
      files.push(absolute);
      continue;
    }
    const names = (await readdir(absolute, { withFileTypes: true })).filter((e) => e.isFile() && e.name.endsWith('.pem') && !e.name.startsWith('.'));
    for (const name of names.map((e) => e.name).sort(byCodeUnits)) files.push(path.join(absolute, name));
  }
  return files;
}

async function readPublicKey(file: string): Promise<TrustedKey> {
  let text: string;
  try {
    if ((await stat(file)).size > TRUST_LIMITS.maxFileBytes) throw new Error(`larger than ${TRUST_LIMITS.maxFileBytes} bytes`);
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw keyError(file, `cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, err);
  }
  // createPublicKey would accept a private key and derive its public half; a private key does not belong on a board.
  if (/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw keyError(file, 'holds a private key; put only the public key on the board (openssl pkey -in KEY -pubout)');
  let key: KeyObject;
  try {
    key = createPublicKey(text);
  } catch (err) {
    throw keyError(file, `not a PEM public key (${(err as Error).message})`, err);
  }
  if (key.asymmetricKeyType !== 'ed25519') throw keyError(file, `is a ${key.asymmetricKeyType ?? 'unknown'} key; only ed25519 keys are trusted`);
  return { fingerprint: fingerprintOf(key), file, key };
}

function keyError(file: string, why: string, cause?: unknown): OpenStarryError {
  return new OpenStarryError(ErrorCode.BUNDLE_KEY_INVALID, `${file}: ${why}`, cause === undefined ? {} : { cause });
}
