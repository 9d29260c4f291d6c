// The server in-process (Fastify's inject, and a real socket for shutdown): every endpoint and
// answer format against what `segkit predict`'s code gives for the same image, the limits (413),
// bad input (400, 415), a full queue (503 + Retry-After), deadlines (504), readiness while the
// model loads, a close() that answers the admitted requests before freeing the model, and a client
// that hangs up mid-upload.
import { test } from 'node:test';
import { connect, type AddressInfo } from 'node:net';
import assert from 'node:assert/strict';
import { createServer, type SegkitServer } from '../../src/serve/index.js';
import { checkLeaksEachTest } from '../leak.js';
import { tempDir } from '../data/synth.js';
import { loadModel } from '../../src/cli/model-options.js';
import { CLASSES, SIZE, encode, pngPixels, predicted, served, slowServed, testPixels, writeModel } from './setup.js';

checkLeaksEachTest();

const post = (app: SegkitServer, payload: Buffer, opts: { url?: string; type?: string; accept?: string } = {}) =>
  app.inject({ method: 'POST', url: opts.url ?? '/predict', payload, headers: { 'content-type': opts.type ?? 'image/png', ...(opts.accept ? { accept: opts.accept } : {}) } });

/** A multipart/form-data body with one file field. */
function multipartBody(bytes: Buffer, type: string): { payload: Buffer; contentType: string } {
  const boundary = 'segkit-test-boundary';
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; filename="x"\r\nContent-Type: ${type}\r\n\r\n`);
  return { payload: Buffer.concat([head, bytes, Buffer.from(`\r\n--${boundary}--\r\n`)]), contentType: `multipart/form-data; boundary=${boundary}` };
}

const json = (body: string) => JSON.parse(body) as Record<string, any>;

test('POST /predict answers the mask, colour mask and overlay predict writes, and JSON class counts; /healthz and /readyz', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const weights = writeModel(tmp.dir);
    const app = createServer({ model: await served(weights), warmupSize: SIZE });
    try {
      await app.segkit.ready;
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      const ready = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200);
      assert.deepEqual(json(ready.body).classes, CLASSES);

      for (const format of ['png', 'jpeg'] as const) {
        const bytes = await encode(testPixels(1), format);
        const want = await predicted(weights, tmp.dir, `x.${format === 'png' ? 'png' : 'jpg'}`, bytes);
        const expected = Array.from(want.mask.data);
        assert.ok(new Set(expected).size >= 2, 'the test image gets two classes or more, so the comparison means something');
        const type = `image/${format}`;

        const mask = await post(app, bytes, { type });
        assert.equal(mask.statusCode, 200, mask.body);
        assert.equal(mask.headers['content-type'], 'image/png');
        assert.match(String(mask.headers['server-timing']), /queue;dur=[\d.]+, infer;dur=[\d.]+/);
        assert.deepEqual(await pngPixels(mask.rawPayload, 1), expected, `${format}: the index mask is predict's`);

        const form = multipartBody(bytes, type);
        const viaForm = await post(app, form.payload, { type: form.contentType });
        assert.equal(viaForm.statusCode, 200, viaForm.body);
        assert.deepEqual(await pngPixels(viaForm.rawPayload, 1), expected, `${format}: a multipart upload gets the same mask`);

        const color = await post(app, bytes, { type, url: '/predict?format=color' });
        assert.deepEqual(await pngPixels(color.rawPayload, 3), Array.from(want.color.data), `${format}: the colour mask is predict's`);
        const overlay = await post(app, bytes, { type, url: '/predict?format=overlay' });
        assert.deepEqual(await pngPixels(overlay.rawPayload, 3), Array.from(want.overlay.data), `${format}: the overlay is predict's`);

        for (const how of [{ url: '/predict?format=json' }, { accept: 'application/json' }, { accept: 'image/webp;q=0.9, application/json;q=0.8' }]) {
          const answer = await post(app, bytes, { type, ...how });
          assert.equal(answer.statusCode, 200, answer.body);
          assert.match(String(answer.headers['content-type']), /^application\/json/);
          const body = json(answer.body);
          assert.equal(body.width, SIZE);
          assert.equal(body.height, SIZE);
          assert.deepEqual(body.classes, CLASSES.map((name, id) => ({ id, name, pixels: expected.filter((v) => v === id).length })));
          for (const k of ['queue', 'inference', 'total']) assert.ok(body.timeMs[k] >= 0, `timeMs.${k}`);
        }
        const preferPng = await post(app, bytes, { type, accept: 'image/png, application/json;q=0.5' });
        assert.equal(preferPng.headers['content-type'], 'image/png');
      }
    } finally {
      await app.close();
    }
  } finally {
    tmp.done();
  }
});

test('413 names the limit and its flag: a body over maxBodyBytes (raw and multipart), an image over maxPixels', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const app = createServer({ model: await served(writeModel(tmp.dir)), warmupSize: SIZE, maxBodyBytes: 4000, maxPixels: 48 * 48 });
    try {
      await app.segkit.ready;
      const big = await encode(testPixels(2), 'png'); // noise: well over 4000 bytes
      assert.ok(big.length > 4000);
      const raw = await post(app, big);
      assert.equal(raw.statusCode, 413);
      assert.match(json(raw.body).message, /larger than the limit of 3\.9 KiB \(4000 bytes\).*--max-body-mb/);
      const form = multipartBody(big, 'image/png');
      const viaForm = await post(app, form.payload, { type: form.contentType });
      assert.equal(viaForm.statusCode, 413, viaForm.body);
      assert.match(json(viaForm.body).message, /--max-body-mb/);

      const flat = await encode(Buffer.alloc(SIZE * SIZE * 3, 90), 'png'); // small file, 64x64 pixels
      const pixels = await post(app, flat);
      assert.equal(pixels.statusCode, 413);
      assert.match(json(pixels.body).message, /the image is 64x64 = 4096 pixels, above the limit of 2304 pixels; .*--max-pixels/);
    } finally {
      await app.close();
    }
  } finally {
    tmp.done();
  }
});

test('400 for bytes that are not an image, a truncated image, no body or an unknown format; 415 for a non-image type', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const app = createServer({ model: await served(writeModel(tmp.dir)), warmupSize: SIZE });
    try {
      await app.segkit.ready;
      const png = await encode(testPixels(3), 'png');
      const cases: Array<[Buffer, string, RegExp, string?]> = [
        [Buffer.from('hello, this is text'), 'image/png', /the uploaded image: not a PNG, JPEG, WebP or TIFF image/],
        [png.subarray(0, png.length >> 1), 'image/png', /the uploaded image: .*(corrupt|truncated)/],
        [Buffer.alloc(0), 'image/png', /the request holds no image; send the image as the body/],
        [png, 'image/png', /unknown format 'tiff'; choose from mask, color, overlay, json/, '/predict?format=tiff'],
      ];
      for (const [payload, type, message, url] of cases) {
        const r = await post(app, payload, { type, url });
        assert.equal(r.statusCode, 400, `${message}: ${r.body}`);
        assert.match(json(r.body).message, message);
      }
      const text = await post(app, Buffer.from('{"image": 1}'), { type: 'application/json' });
      assert.equal(text.statusCode, 415);
      assert.match(json(text.body).message, /Content-Type application\/json is not an image; send the image as the body with Content-Type image\/png/);
    } finally {
      await app.close();
    }
  } finally {
    tmp.done();
  }
});

test('/readyz and /predict answer 503 while the model loads; a failed load is reported', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const weights = writeModel(tmp.dir);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const app = createServer({ model: async () => (await gate, served(weights)), warmupSize: SIZE });
    try {
      await app.ready();
      const loading = await app.inject({ method: 'GET', url: '/readyz' });
      assert.equal(loading.statusCode, 503);
      assert.equal(json(loading.body).status, 'loading');
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200, 'alive while loading');
      const early = await post(app, await encode(testPixels(4), 'png'));
      assert.equal(early.statusCode, 503);
      assert.ok(Number(early.headers['retry-after']) > 0);
      release();
      await app.segkit.ready;
      assert.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200);
    } finally {
      await app.close();
    }

    const broken = createServer({ model: async () => ({ ...(await loadModel({ model: 'unet', weights: `${tmp.dir}/missing.safetensors`, overlap: 1 / 3, threshold: 0.5 })) }) });
    try {
      await assert.rejects(broken.segkit.ready);
      const r = await broken.inject({ method: 'GET', url: '/readyz' });
      assert.equal(r.statusCode, 503);
      assert.equal(json(r.body).status, 'failed');
      assert.match(json(r.body).message, /the model failed to load: .*missing\.safetensors/);
    } finally {
      await broken.close();
    }
  } finally {
    tmp.done();
  }
});

test('a full queue answers 503 with Retry-After before reading the body; the admitted requests get their masks', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const { served: model, slow } = await slowServed(writeModel(tmp.dir));
    const app = createServer({ model, warmupSize: SIZE, queueSize: 1 });
    try {
      await app.segkit.ready;
      slow.ms = 150;
      const png = await encode(testPixels(5), 'png');
      const answers = await Promise.all([post(app, png), post(app, png), post(app, png), post(app, png)]);
      assert.deepEqual(answers.map((a) => a.statusCode).sort(), [200, 200, 503, 503], 'one runs, one waits, the rest are refused');
      for (const refused of answers.filter((a) => a.statusCode === 503)) {
        assert.ok(Number(refused.headers['retry-after']) >= 1);
        assert.match(json(refused.body).message, /the server is busy: 1 requests already wait for the model \(the --queue limit\); retry after \d+ s/);
      }
      assert.equal(slow.calls, 2);
    } finally {
      await app.close();
    }
  } finally {
    tmp.done();
  }
});

test('504 once the deadline passes: for the running request, and for a waiting one, which never runs', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const { served: model, slow } = await slowServed(writeModel(tmp.dir));
    // a limit well above a real answer's time on a loaded machine, and a slow model well above the limit
    const app = createServer({ model, warmupSize: SIZE, timeoutMs: 1000 });
    try {
      await app.segkit.ready;
      slow.ms = 2500;
      const png = await encode(testPixels(6), 'png');
      const answers = await Promise.all([post(app, png), post(app, png)]);
      for (const a of answers) {
        assert.equal(a.statusCode, 504);
        assert.match(json(a.body).message, /no answer within the 1 s limit .*--timeout/);
      }
      await app.segkit.queue.whenIdle();
      assert.equal(slow.calls, 1, 'the waiting request left the queue without running');
      slow.ms = 0;
      assert.equal((await post(app, png)).statusCode, 200, 'the server goes on');
    } finally {
      await app.close();
    }
  } finally {
    tmp.done();
  }
});

test('close() stops accepting, answers every admitted request, then frees the model', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const weights = writeModel(tmp.dir);
    const { served: model, slow } = await slowServed(weights);
    const app = createServer({ model, warmupSize: SIZE, queueSize: 4 });
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    await app.segkit.ready;
    slow.ms = 100;
    const bytes = await encode(testPixels(7), 'png');
    const expected = Array.from((await predicted(weights, tmp.dir, 'x.png', bytes)).mask.data);
    const requests = [0, 1, 2].map(() => fetch(`${url}/predict`, { method: 'POST', body: bytes, headers: { 'content-type': 'image/png' } }));
    while (app.segkit.queue.stats().admitted < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    const closed = app.close();
    const answers = await Promise.all(requests);
    for (const a of answers) {
      assert.equal(a.status, 200);
      assert.deepEqual(await pngPixels(Buffer.from(await a.arrayBuffer()), 1), expected);
    }
    await closed;
    assert.equal(slow.calls, 3);
    assert.equal(app.segkit.predictor, undefined, 'the model was freed (the leak check counts its tensors)');
    await assert.rejects(fetch(`${url}/healthz`), 'no new connections after close');
  } finally {
    tmp.done();
  }
});

test('a client that hangs up during its upload gives its place back', async () => {
  const tmp = tempDir('segkit-serve-');
  try {
    const app = createServer({ model: await served(writeModel(tmp.dir)), warmupSize: SIZE });
    try {
      await app.listen({ host: '127.0.0.1', port: 0 });
      await app.segkit.ready;
      const { port } = app.server.address() as AddressInfo;
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      socket.write(`POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n`);
      socket.write(Buffer.alloc(1000));
      while (app.segkit.queue.stats().admitted < 1) await new Promise((resolve) => setTimeout(resolve, 5));
      socket.destroy();
      while (app.segkit.queue.stats().admitted > 0) await new Promise((resolve) => setTimeout(resolve, 5));
      assert.equal((await post(app, await encode(testPixels(10), 'png'))).statusCode, 200);
    } finally {
      await app.close();
    }
  } finally {
    tmp.done();
  }
});
