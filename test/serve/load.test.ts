// A bounded load test on loopback: 200 requests (two rounds of 100) sent at ten times the rate the
// server sustains, from a worker thread. Every request must be answered, 200 or 503 with
// Retry-After; afterwards the server still answers, holds no more tensors than the model's own,
// and its RSS did not grow from the first round to the second.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Worker } from 'node:worker_threads';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { memory } from '../../src/torch/index.js';
import { createServer } from '../../src/serve/index.js';
import { closedLoop, type Answer } from '../../bench/serve-load.js';
import { checkLeaksEachTest } from '../leak.js';
import { tempDir } from '../data/synth.js';
import { SIZE, encode, served, testPixels, writeModel } from './setup.js';

checkLeaksEachTest();

// RSS is compared after a full garbage collection: V8 grows its heap lazily otherwise
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

function sendFromWorker(url: string, body: Buffer, count: number, rate: number): Promise<Answer[]> {
  const worker = new Worker(new URL('./load-client.js', import.meta.url), { workerData: { url, body: new Uint8Array(body), count, rate } });
  return new Promise<Answer[]>((resolve, reject) => {
    worker.once('message', (answers: Answer[]) => void worker.terminate().then(() => resolve(answers)));
    worker.once('error', reject);
  }).finally(() => worker.terminate());
}

test('at ten times the sustainable rate every request is answered (200 or 503), no tensor leaks and RSS stays flat', async () => {
  const tmp = tempDir('segkit-serve-load-');
  const app = createServer({ model: await served(writeModel(tmp.dir)), warmupSize: SIZE, queueSize: 4 });
  try {
    const url = `${await app.listen({ host: '127.0.0.1', port: 0 })}/predict`;
    await app.segkit.ready;
    const modelTensors = memory().tensors;
    const body = await encode(testPixels(8), 'png');

    // what the server sustains, one request after another
    const calibration = await closedLoop({ url, body, contentType: 'image/png' }, 1, 1);
    assert.ok(calibration.answers.every((a) => a.status === 200));
    const rate = (10 * calibration.answers.length) / calibration.seconds;

    const rss: number[] = [];
    const answers: Answer[] = [];
    for (let round = 0; round < 2; round++) {
      answers.push(...(await sendFromWorker(url, body, 100, rate)));
      await app.segkit.queue.whenIdle();
      gc();
      rss.push(process.memoryUsage().rss);
    }
    const count = (status: number) => answers.filter((a) => a.status === status).length;
    const unexpected = answers.filter((a) => a.status !== 200 && a.status !== 503);
    assert.deepEqual(unexpected, [], 'every request is answered, with 200 or 503');
    assert.ok(count(200) > 0 && count(503) > 0, `some served, some refused: ${count(200)} x 200, ${count(503)} x 503 at ${rate.toFixed(0)} requests/s`);
    assert.ok(answers.filter((a) => a.status === 503).every((a) => Number(a.retryAfter) >= 1), '503s carry Retry-After');

    assert.equal(memory().tensors, modelTensors, 'no tensor outlives its request');
    const growth = (rss[1]! - rss[0]!) / 2 ** 20;
    assert.ok(growth < 32, `RSS grew by ${growth.toFixed(1)} MiB from the first round of 100 requests to the second`);
    const health = await fetch(url.replace('/predict', '/healthz'));
    assert.equal(health.status, 200, 'the server is still up');
    const after = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'image/png' } });
    assert.equal(after.status, 200);
    await after.arrayBuffer();
  } finally {
    await app.close();
    tmp.done();
  }
});
