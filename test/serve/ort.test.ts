// `segkit serve --backend ort`: the small UNet exported with `segkit export` and served by ONNX
// Runtime answers the masks and class counts the same model served by libtorch answers, with the
// class names from the .onnx file's metadata, and frees its session on SIGTERM (exit 0).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createServer } from '../../src/serve/index.js';
import { repoRoot } from '../paths.js';
import { tempDir } from '../data/synth.js';
import { checkLeaksEachTest } from '../leak.js';
import { CLASSES, SIZE, encode, pngPixels, served, testPixels, writeModel } from './setup.js';

checkLeaksEachTest();

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

/** Starts `segkit serve args...` on a free port; resolves with its URL once it says ready. */
function startServe(args: string[]): Promise<{ url: string; stop: () => Promise<{ code: number | null; err: string }> }> {
  const child = spawn(process.execPath, [main, 'serve', ...args, '--port', '0', '--threads', '1', '--warmup-size', String(SIZE)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*segkit serve: ready in [\d.]+ s: .*\n/.exec(err);
      if (m) resolve({ url: m[1]!, stop: async () => (child.kill('SIGTERM'), { code: await exited, err }) });
    });
    void exited.then((code) => reject(new Error(`segkit serve exited with ${code}: ${err}`)));
  });
}

test('segkit serve --backend ort with a segkit export of the model answers the masks and class counts libtorch answers', async () => {
  const tmp = tempDir('segkit-serve-ort-');
  try {
    const weights = writeModel(tmp.dir);
    const onnx = join(tmp.dir, 'unet.onnx');
    const exported = spawnSync(process.execPath, [main, 'export', '--weights', weights, '-o', onnx], { encoding: 'utf8' });
    assert.equal(exported.status, 0, exported.stdout + exported.stderr);

    const server = await startServe(['--backend', 'ort', '--onnx', onnx]);
    let stopped = false;
    const torchApp = createServer({ model: await served(weights), warmupSize: SIZE });
    try {
      await torchApp.segkit.ready;
      const ready = await fetch(`${server.url}/readyz`);
      assert.equal(ready.status, 200);
      assert.deepEqual(((await ready.json()) as { classes: string[] }).classes, CLASSES, 'class names from the .onnx metadata');

      for (const [i, format] of [[2, 'png'], [3, 'jpeg']] as const) {
        const bytes = await encode(testPixels(i), format);
        const type = `image/${format}`;
        const byTorch = await torchApp.inject({ method: 'POST', url: '/predict', payload: bytes, headers: { 'content-type': type } });
        assert.equal(byTorch.statusCode, 200, byTorch.body);
        const expected = await pngPixels(byTorch.rawPayload, 1);
        assert.ok(new Set(expected).size >= 2, 'the test image gets two classes or more, so the comparison means something');

        const byOrt = await fetch(`${server.url}/predict`, { method: 'POST', body: bytes, headers: { 'content-type': type } });
        assert.equal(byOrt.status, 200);
        assert.deepEqual(await pngPixels(Buffer.from(await byOrt.arrayBuffer()), 1), expected, `${format}: ONNX Runtime's mask is libtorch's`);

        const jsonTorch = await torchApp.inject({ method: 'POST', url: '/predict?format=json', payload: bytes, headers: { 'content-type': type } });
        const jsonOrt = await fetch(`${server.url}/predict?format=json`, { method: 'POST', body: bytes, headers: { 'content-type': type } });
        assert.deepEqual(((await jsonOrt.json()) as { classes: unknown }).classes, (JSON.parse(jsonTorch.body) as { classes: unknown }).classes, `${format}: the class counts`);
      }
      const { code, err } = await server.stop();
      stopped = true;
      assert.equal(code, 0, err);
      assert.match(err, /ready in [\d.]+ s: unet \(.*unet\.onnx, ONNX Runtime\); normalise mean 0\.5,0\.5,0\.5 std 0\.25,0\.25,0\.25; 3 classes/);
      assert.match(err, /segkit serve: stopped/);
    } finally {
      if (!stopped) await server.stop();
      await torchApp.close();
    }
  } finally {
    tmp.done();
  }
});
