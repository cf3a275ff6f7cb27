/**
 * A small HTTP server of in-memory files for tests that need a real download (the fleet tests' bundles: issue 16,
 * README "Deploying updates"): `serve(name, bytes)` returns the file's URL; anything else answers 404. Closed in
 * the test's teardown.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Test } from 'tap';

export interface FileServer {
  base: string;
  serve(name: string, bytes: Uint8Array): string;
}

export async function startFileServer(t: Test): Promise<FileServer> {
  const files = new Map<string, Uint8Array>();
  const server = createServer((req, res) => {
    const body = files.get(req.url ?? '');
    res.writeHead(body ? 200 : 404).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    base,
    serve: (name, bytes) => {
      files.set(`/${name}`, bytes);
      return `${base}/${name}`;
    },
  };
}
