/**
 * Real ed25519 (and, to be refused, other) keys for the bundle tests, made by openssl in the test's folder as the
 * README "Deploying updates" tells an operator to make them (issue 16: "keys made with openssl genpkey -algorithm
 * ed25519 in the test"). Imported only by tests.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestKey {
  /** The private key file (signs bundles). */
  privateFile: string;
  privatePem: string;
  /** The public key file (a board trusts it). */
  publicFile: string;
}

/**
 * `openssl genpkey -algorithm <algorithm>` then `openssl pkey -pubout`, as `<dir>/<name>.key` and `<dir>/<name>.pem`;
 * with `passphrase`, the private key is encrypted with it (`-aes-256-cbc`, PKCS#8 "ENCRYPTED PRIVATE KEY").
 */
export async function makeKey(dir: string, name: string, algorithm: 'ed25519' | 'ed448' | 'rsa' = 'ed25519', passphrase?: string): Promise<TestKey> {
  const privateFile = path.join(dir, `${name}.key`);
  const publicFile = path.join(dir, `${name}.pem`);
  const options = algorithm === 'rsa' ? ['-pkeyopt', 'rsa_keygen_bits:2048'] : [];
  const pass = passphrase === undefined ? [] : ['-pass', `pass:${passphrase}`];
  await run('openssl', ['genpkey', '-algorithm', algorithm, ...options, ...(passphrase === undefined ? [] : ['-aes-256-cbc']), ...pass, '-out', privateFile]);
  await run('openssl', ['pkey', '-in', privateFile, ...(passphrase === undefined ? [] : ['-passin', `pass:${passphrase}`]), '-pubout', '-out', publicFile]);
  return { privateFile, privatePem: await readFile(privateFile, 'utf8'), publicFile };
}
