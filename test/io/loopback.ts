// A file server on 127.0.0.1 (random port) for download tests without internet. Every path is
// <mode>/<file name>; the mode says how the request is answered, and hits are counted per path.
//   ok/NAME        the registered bytes of NAME, with Content-Length
//   corrupt/NAME   other bytes of the same length
//   truncated/NAME the full Content-Length, half the bytes, then the connection is cut
//   chunked/NAME   the bytes without Content-Length
//   anything else  404
import { createServer, type Server } from 'node:http';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';

export interface Loopback {
  /** http://127.0.0.1:PORT/ */
  base: string;
  /** Requests seen per path ('/ok/NAME'). */
  hits: Map<string, number>;
  /** Serves `bytes` as NAME. */
  add(name: string, bytes: Uint8Array): void;
  close(): Promise<void>;
}

export async function startLoopback(): Promise<Loopback> {
  const files = new Map<string, Uint8Array>();
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const [, mode, name] = /^\/([a-z]+)\/(.+)$/.exec(path) ?? [];
    const bytes = name === undefined ? undefined : files.get(name);
    if (bytes === undefined) {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not here');
      return;
    }
    switch (mode) {
      case 'ok':
        res.writeHead(200, { 'Content-Length': bytes.length }).end(bytes);
        return;
      case 'corrupt':
        res.writeHead(200, { 'Content-Length': bytes.length }).end(bytes.map((b) => b ^ 0xff));
        return;
      case 'truncated':
        res.writeHead(200, { 'Content-Length': bytes.length });
        res.write(bytes.subarray(0, bytes.length >> 1), () => res.socket?.destroy());
        return;
      case 'chunked':
        res.writeHead(200);
        res.write(bytes.subarray(0, 1000));
        res.end(bytes.subarray(1000));
        return;
      default:
        res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${port}/`,
    hits,
    add: (name, bytes) => void files.set(name, bytes),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Deterministic bytes and the name torch.hub would give them: stem-<first 8 hex of their SHA-256>.pth */
export function hashedFile(stem: string, size: number): { name: string; bytes: Uint8Array; sha256: string } {
  const bytes = new Uint8Array(size);
  let x = 0x9e3779b9;
  for (let i = 0; i < size; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    bytes[i] = x >>> 24;
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return { name: `${stem}-${sha256.slice(0, 8)}.pth`, bytes, sha256 };
}

/** A port nothing listens on (a server is opened and closed on it). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}
