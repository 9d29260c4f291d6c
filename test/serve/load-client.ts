// The load test's client, in a worker thread so that its sending schedule does not wait on the
// server's event loop: workerData { url, body, count, rate } → posts the answers of sendAtRate.
import { parentPort, workerData } from 'node:worker_threads';
import { sendAtRate } from '../../bench/serve-load.js';

const { url, body, count, rate } = workerData as { url: string; body: Uint8Array; count: number; rate: number };
parentPort!.postMessage(await sendAtRate({ url, body, contentType: 'image/png' }, count, rate));
