// The browser page of `segkit export --web`: served on 127.0.0.1 and driven in Debian's Chromium
// (playwright-core, headless), an image chosen (or dropped) in the page gives the mask segkit predicts for it,
// pixel for pixel: multi-class with threads (cross-origin isolated), one-channel with one thread.
// Skips, saying why, where /usr/bin/chromium is absent (scripts/setup.sh installs it). First,
// without a browser: what `segkit export --web DIR` writes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize as normalizePath } from 'node:path';
import sharp from 'sharp';
import * as torch from '../../src/torch/index.js';
import { create } from '../../src/models/index.js';
import { exportOnnx } from '../../src/export/index.js';
import { readImage } from '../../src/io/image.js';
import { normalizeImage } from '../../src/data/transforms/normalize.js';
import { classIds, predictProbabilities } from '../../src/predict/inference.js';
import { writeWebPage } from '../../src/web/page.js';
import { saveWeights } from '../../src/io/index.js';
import { onnxMetadataProps } from '../../src/ort/metadata.js';
import { repoRoot } from '../paths.js';
import { tempDir } from '../data/synth.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

const CHROMIUM = '/usr/bin/chromium';
const skip = existsSync(CHROMIUM) ? false : `${CHROMIUM} is absent: install Debian's chromium (apt-get install chromium; scripts/setup.sh does) to run the browser test`;
const TYPES: Record<string, string> = { '.html': 'text/html', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.onnx': 'application/octet-stream' };

/** A static server for `root` on 127.0.0.1; with `isolated`, the headers that make the page cross-origin isolated. */
async function serve(root: string, isolated: boolean): Promise<{ url: string; server: Server }> {
  const server = createServer((req, res) => {
    const path = normalizePath(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!existsSync(file)) return void res.writeHead(404).end();
    res.writeHead(200, {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      ...(isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {}),
    });
    res.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { url: `http://127.0.0.1:${address.port}/`, server };
}

/** An RGB PNG of noise with a bright disc: enough structure for a random model to predict several classes. */
async function writeImage(file: string, width: number, height: number): Promise<void> {
  const b = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    const disc = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (height / 3) ** 2;
    for (let c = 0; c < 3; c++) b[(y * width + x) * 3 + c] = disc ? 230 - 40 * c : (Math.imul(y * width + x + 1, 2654435761 + 97 * c) >>> 24);
  }
  await sharp(b, { raw: { width, height, channels: 3 } }).png().toFile(file);
}

test('segkit export --web writes the page, the model with its metadata and onnxruntime-web\'s files', async () => {
  const tmp = tempDir('segkit-web-cli-');
  try {
    torch.manualSeed(19);
    const model = create('unet', { numClasses: 3, baseWidth: 4, depth: 2 });
    saveWeights(model, join(tmp.dir, 'best.safetensors'), {
      'segkit.model': 'unet',
      'segkit.options': JSON.stringify({ numClasses: 3, baseWidth: 4, depth: 2 }),
      'segkit.classes': JSON.stringify(['background', 'circle', 'square']),
      'segkit.normalize': JSON.stringify({ mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }),
    });
    model.dispose();
    const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'export', '--weights', 'best.safetensors', '--web', 'site'], { cwd: tmp.dir, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /wrote the browser page to site .*python3 -m http.server/);
    for (const f of ['index.html', 'app.mjs', 'model.onnx', 'model.json', 'ort/ort.wasm.min.mjs', 'ort/ort-wasm-simd-threaded.mjs', 'ort/ort-wasm-simd-threaded.wasm']) {
      assert.ok(existsSync(join(tmp.dir, 'site', f)), `site/${f}`);
    }
    assert.ok(!existsSync(join(tmp.dir, 'model.onnx')), 'with --web alone, the model is written into the page only');
    const json = JSON.parse(readFileSync(join(tmp.dir, 'site', 'model.json'), 'utf8'));
    assert.deepEqual([json.model, json.classes, json.normalize, json.palette.length, json.threshold], ['unet', ['background', 'circle', 'square'], { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }, 3, 0.5]);
    assert.equal(onnxMetadataProps(readFileSync(join(tmp.dir, 'site', 'model.onnx')))['segkit.classes'], JSON.stringify(['background', 'circle', 'square']));
    assert.match(readFileSync(join(tmp.dir, 'site', 'index.html'), 'utf8'), /<script type="module" src="app.mjs"><\/script>/);
  } finally {
    tmp.done();
  }
});

test('the page computes the mask segkit predicts for the same image', { skip, timeout: 240_000 }, async () => {
  const { chromium } = await import('playwright-core');
  const tmp = tempDir('segkit-web-');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'], headless: true });
  try {
    const image = join(tmp.dir, 'photo.png');
    await writeImage(image, 57, 41);
    for (const [numClasses, isolated] of [[3, true], [1, false]] as const) {
      torch.manualSeed(20 + numClasses);
      const model = create('unet', { numClasses, baseWidth: 4, depth: 2 }).eval();
      // a random head's bias outweighs the features: a sharper head predicts several classes
      const params = new Map(model.namedParameters());
      torch.inferenceMode(() => {
        params.get('head.weight')!.mul_(10);
        params.get('head.bias')!.zero_();
      });
      const classes = numClasses === 1 ? ['background', 'lesion'] : ['background', 'circle', 'square'];
      const normalize = { mean: [0.45, 0.45, 0.4], std: [0.22, 0.25, 0.2] };
      const site = join(tmp.dir, `site${numClasses}`);
      const written = writeWebPage(site, exportOnnx(model, { metadata: { 'segkit.model': 'tiny unet', 'segkit.classes': classes, 'segkit.palette': [[0, 0, 0], [255, 0, 0], [0, 255, 0]], 'segkit.normalize': normalize } }));
      assert.deepEqual(written.modelJson.classes, classes);

      // segkit's own mask for the image
      const img = await readImage(image, { channels: 3 });
      const input = normalizeImage(img, normalize);
      const x = torch.tensor(input.data, { shape: [1, 3, img.height, img.width] });
      const probs = await predictProbabilities(model, x);
      const expected = torch.tidy(() => classIds(probs).toArray());
      for (const t of [x, probs]) t.dispose();
      model.dispose();

      const { url, server } = await serve(site, isolated);
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on('pageerror', (e) => errors.push(e.message));
        await page.goto(url);
        await page.waitForFunction('window.segkit && (window.segkit.ready || window.segkit.error)', null, { timeout: 60_000 });
        const runtime = await page.textContent('#runtime');
        assert.match(runtime ?? '', isolated ? /WebAssembly, [2-4] threads$/ : /WebAssembly, 1 thread \(serve the page cross-origin isolated for more\)/);
        await page.setInputFiles('#file', image);
        await page.waitForFunction('window.segkit.last || window.segkit.error', null, { timeout: 60_000 });
        const got = (await page.evaluate('window.segkit')) as { error?: string; last: { width: number; height: number; mask: number[] } };
        assert.equal(got.error, undefined);
        assert.deepEqual([got.last.width, got.last.height], [57, 41]);
        assert.ok(new Set(expected).size > 1, 'the image gives more than one class (a meaningful comparison)');
        assert.deepEqual(got.last.mask, expected, `${numClasses} output channel(s): the page's mask is segkit's`);
        assert.match((await page.textContent('#status')) ?? '', /photo\.png, 57x41: \d+ ms \(model \d+ ms, \d threads?\)/);
        assert.match((await page.textContent('#legend')) ?? '', new RegExp(`${classes[1]} [\\d.]+%`));
        if (isolated) {
          // dropped instead of chosen: the same mask
          const bytes = [...readFileSync(image)];
          await page.evaluate(`(() => {
            const dt = new DataTransfer();
            dt.items.add(new File([new Uint8Array(${JSON.stringify(bytes)})], 'dropped.png', { type: 'image/png' }));
            document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
          })()`);
          await page.waitForFunction("window.segkit.last.file === 'dropped.png' || window.segkit.error", null, { timeout: 60_000 });
          assert.deepEqual(((await page.evaluate('window.segkit.last')) as { mask: number[] }).mask, expected, 'dropped: the same mask');
        }
        assert.deepEqual(errors, []);
        await page.close();
      } finally {
        server.close();
      }
    }
  } finally {
    await browser.close();
    tmp.done();
  }
});
