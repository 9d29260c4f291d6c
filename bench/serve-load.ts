// Load on `segkit serve` over loopback: the sustained rate (a closed loop of a few clients, each
// sending its next request when the last is answered), its p50/p99 latency, then an overload phase
// (an open loop at a multiple of that rate) that reports how many requests got 200 and 503 and the
// latency of the 200s. Without --url it starts `segkit serve` on a small random-init UNet (written
// to a temporary folder) as a child process, so client and server do not share an event loop.
//
//   node dist/bench/serve-load.js                         # the small UNet, 64x64 images
//   node dist/bench/serve-load.js --size 256 --base-width 32 --seconds 10 --threads 2
//   node dist/bench/serve-load.js --url http://127.0.0.1:8080 --image photo.jpg
//
// The test of the server (test/serve/load.test.ts) uses sendAtRate from here.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

export interface Answer {
  /** HTTP status, or 0 when no answer came (connection refused or reset). */
  status: number;
  ms: number;
  retryAfter?: string;
  error?: string;
}

export interface Target {
  url: string;
  body: Uint8Array;
  contentType: string;
}

async function send(t: Target): Promise<Answer> {
  const start = performance.now();
  try {
    const r = await fetch(t.url, { method: 'POST', body: t.body, headers: { 'content-type': t.contentType } });
    await r.arrayBuffer();
    return { status: r.status, ms: performance.now() - start, retryAfter: r.headers.get('retry-after') ?? undefined };
  } catch (e) {
    return { status: 0, ms: performance.now() - start, error: String((e as Error).cause ?? e) };
  }
}

/** Open loop: `count` requests at `ratePerS`, each sent on schedule whether or not earlier ones were answered. */
export async function sendAtRate(t: Target, count: number, ratePerS: number): Promise<Answer[]> {
  const start = performance.now();
  const pending: Array<Promise<Answer>> = [];
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / ratePerS;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    pending.push(send(t));
  }
  return Promise.all(pending);
}

/** Closed loop: `clients` senders, each sending its next request when the last is answered, for `seconds`. */
export async function closedLoop(t: Target, clients: number, seconds: number): Promise<{ answers: Answer[]; seconds: number }> {
  const start = performance.now();
  const end = start + seconds * 1000;
  const answers: Answer[] = [];
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (performance.now() < end) answers.push(await send(t));
    }),
  );
  return { answers, seconds: (performance.now() - start) / 1000 };
}

/** The p-th percentile (0..100) of `values`, nearest rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const byStatus = (answers: Answer[]): string =>
  Object.entries(answers.reduce<Record<string, number>>((n, a) => ({ ...n, [a.status || 'no answer']: (n[a.status || 'no answer'] ?? 0) + 1 }), {}))
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');

/** Starts `segkit serve` on a fresh random-init UNet and resolves with its URL once /readyz says ready. */
async function startServer(o: { size: number; baseWidth: number; depth: number; threads: number; queue: number }): Promise<{ url: string; child: ChildProcess; dir: string }> {
  const [torch, { create }, { saveWeights }] = await Promise.all([import('../src/torch/index.js'), import('../src/models/index.js'), import('../src/io/index.js')]);
  const dir = mkdtempSync(join(tmpdir(), 'segkit-serve-load-'));
  const weights = join(dir, 'unet.safetensors');
  torch.manualSeed(0);
  const options = { numClasses: 3, baseWidth: o.baseWidth, depth: o.depth };
  const model = create('unet', options);
  saveWeights(model, weights, { 'segkit.model': 'unet', 'segkit.options': JSON.stringify(options) });
  model.dispose();
  const main = fileURLToPath(new URL('../src/cli/main.js', import.meta.url)); // this file is dist/bench/serve-load.js
  const child = spawn(process.execPath, [main, 'serve', '--weights', weights, '--port', '0', '--threads', String(o.threads), '--queue', String(o.queue), '--warmup-size', String(o.size)], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const ready = /listening on (\S+)[\s\S]*segkit serve: ready/.exec(err);
      if (ready) resolve(ready[1]!);
    });
    child.on('exit', (code) => reject(new Error(`segkit serve exited with ${code}:\n${err}`)));
  });
  return { url, child, dir };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      url: { type: 'string' },
      image: { type: 'string' },
      size: { type: 'string', default: '64' },
      'base-width': { type: 'string', default: '8' },
      depth: { type: 'string', default: '2' },
      threads: { type: 'string', default: '1' },
      queue: { type: 'string', default: '8' },
      clients: { type: 'string', default: '2' },
      seconds: { type: 'string', default: '5' },
      overload: { type: 'string', default: '10' },
      'overload-requests': { type: 'string', default: '200' },
      format: { type: 'string', default: 'mask' },
    },
    strict: true,
  });
  const num = (k: keyof typeof values): number => {
    const n = Number(values[k]);
    if (!(n > 0)) throw new Error(`--${k} must be a positive number, got "${values[k]}"`);
    return n;
  };
  const size = num('size');
  const server = values.url ? undefined : await startServer({ size, baseWidth: num('base-width'), depth: num('depth'), threads: num('threads'), queue: num('queue') });
  try {
    const base = values.url ?? server!.url;
    let body: Uint8Array;
    let contentType = 'image/png';
    if (values.image) {
      body = readFileSync(values.image);
      if (/\.jpe?g$/i.test(values.image)) contentType = 'image/jpeg';
    } else {
      const { default: sharp } = await import('sharp');
      const noise = Buffer.alloc(size * size * 3);
      for (let i = 0, x = 12345; i < noise.length; i++) noise[i] = (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24;
      body = await sharp(noise, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer();
    }
    const t: Target = { url: `${base}/predict?format=${values.format}`, body, contentType };
    console.log(`segkit serve load: ${base}, ${values.image ?? `${size}x${size} noise PNG`}, format ${values.format}${server ? `, UNet base width ${values['base-width']} depth ${values.depth}, ${values.threads} thread(s), queue ${values.queue}` : ''}`);
    await closedLoop(t, 1, 1); // warm the connections and the allocator
    const sustained = await closedLoop(t, num('clients'), num('seconds'));
    const ok = sustained.answers.filter((a) => a.status === 200);
    const rps = ok.length / sustained.seconds;
    console.log(`sustained (${values.clients} clients, closed loop, ${sustained.seconds.toFixed(1)} s): ${rps.toFixed(1)} requests/s; latency p50 ${percentile(ok.map((a) => a.ms), 50).toFixed(1)} ms, p99 ${percentile(ok.map((a) => a.ms), 99).toFixed(1)} ms; ${byStatus(sustained.answers)}`);
    const rate = rps * num('overload');
    const over = await sendAtRate(t, num('overload-requests'), rate);
    const served = over.filter((a) => a.status === 200);
    console.log(`overload (${values.overload}x = ${rate.toFixed(0)} requests/s, ${over.length} requests, open loop): ${byStatus(over)}; latency of the 200s p50 ${percentile(served.map((a) => a.ms), 50).toFixed(1)} ms, p99 ${percentile(served.map((a) => a.ms), 99).toFixed(1)} ms; of the 503s p50 ${percentile(over.filter((a) => a.status === 503).map((a) => a.ms), 50).toFixed(1)} ms`);
  } finally {
    if (server) {
      server.child.kill('SIGTERM');
      await new Promise((resolve) => server.child.once('exit', resolve));
      rmSync(server.dir, { recursive: true, force: true });
    }
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    console.error(`serve-load: ${e instanceof Error ? e.message : String(e)}`);
    process.exitCode = 1;
  });
}
