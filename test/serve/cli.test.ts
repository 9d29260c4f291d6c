// `segkit serve` as a user runs it: a child process on a free port that prints its address, says
// when the model is ready, answers /predict with predict's mask, and exits 0 on SIGTERM after
// freeing the model; a model that does not load ends it with status 1 and the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { tempDir } from '../data/synth.js';
import { SIZE, encode, pngPixels, predicted, testPixels, writeModel } from './setup.js';

const main = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

test('segkit serve listens, gets ready, answers /predict as predict does, and stops on SIGTERM with status 0', async () => {
  const tmp = tempDir('segkit-serve-cli-');
  try {
    const weights = writeModel(tmp.dir);
    const child = spawn(process.execPath, [main, 'serve', '--weights', weights, '--port', '0', '--threads', '1', '--warmup-size', String(SIZE)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const url = await new Promise<string>((resolve, reject) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString();
        const m = /listening on (http:\/\/127\.0\.0\.1:\d+)[\s\S]*ready in [\d.]+ s: unet \(.*\); normalise mean 0\.5,0\.5,0\.5 std 0\.25,0\.25,0\.25; 3 classes/.exec(err);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`segkit serve exited with ${code}: ${err}`)));
    });
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 200);
    await ready.arrayBuffer();

    const bytes = await encode(testPixels(9), 'png');
    const answer = await fetch(`${url}/predict`, { method: 'POST', body: bytes, headers: { 'content-type': 'image/png' } });
    assert.equal(answer.status, 200);
    const expected = Array.from((await predicted(weights, tmp.dir, 'x.png', bytes)).mask.data);
    assert.deepEqual(await pngPixels(Buffer.from(await answer.arrayBuffer()), 1), expected);

    child.kill('SIGTERM');
    assert.equal(await exited, 0, err);
    assert.match(err, /SIGTERM: no new requests; answering the 0 admitted, then freeing the model\n.*stopped/);
  } finally {
    tmp.done();
  }
});

test('segkit serve exits 1 when the model does not load; --help lists the endpoints and limits', () => {
  const bad = spawnSync(process.execPath, [main, 'serve', '--model', 'unet', '--weights', 'nowhere.safetensors', '--port', '0'], { encoding: 'utf8' });
  assert.equal(bad.status, 1, bad.stderr);
  assert.match(bad.stderr, /segkit: .*nowhere\.safetensors/);
  const help = spawnSync(process.execPath, [main, 'serve', '--help'], { encoding: 'utf8' });
  assert.equal(help.status, 0);
  for (const s of ['--host <address>', '--port <n>', '--max-body-mb', '--max-pixels', '--queue', '--timeout', '--weights', 'POST /predict', 'GET  /healthz', 'GET  /readyz', 'Retry-After', 'curl -F image=@photo.jpg']) assert.ok(help.stdout.includes(s), s);
});
