// The page's one script: load model.onnx with ONNX Runtime Web (WebAssembly; several threads when
// the page is cross-origin isolated), and for each image dropped or chosen compute what
// `segkit predict` computes: pixels normalised as segkit does (float32 tables), logits at the
// image's own size, arg-max class (or, for one sigmoid channel, probability >= threshold), then
// the mask blended over the image with the class colours. The last result is also on
// `window.segkit.last` (for tests and the console).
import * as ort from './ort/ort.wasm.min.mjs';

const $ = (id) => document.getElementById(id);
const f32 = Math.fround;

ort.env.wasm.wasmPaths = new URL('./ort/', import.meta.url).href;
ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;

/** model.json: { name, classes, palette, normalize: { mean, std }, threshold }. */
async function loadModel() {
  const meta = await (await fetch('model.json')).json();
  const session = await ort.InferenceSession.create('model.onnx', { executionProviders: ['wasm'], graphOptimizationLevel: 'all' });
  return { meta, session };
}

/** RGBA pixels of an image file at its own size, not colour-converted (as segkit reads them). */
async function readPixels(file) {
  const bitmap = await createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  return ctx.getImageData(0, 0, canvas.width, canvas.height);
}

/** (1, 3, H, W) float32: (f32(v / 255) - mean) / std per channel, in float32 as segkit computes it. */
function normalize({ data, width, height }, { mean, std }) {
  const n = width * height;
  const out = new Float32Array(3 * n);
  for (let c = 0; c < 3; c++) {
    const table = new Float32Array(256);
    for (let v = 0; v < 256; v++) table[v] = f32(f32(f32(v / 255) - f32(mean[c])) / f32(std[c]));
    for (let i = 0; i < n; i++) out[c * n + i] = table[data[i * 4 + c]];
  }
  return new ort.Tensor('float32', out, [1, 3, height, width]);
}

/** Class id per pixel from logits (1, K, H, W): arg-max (first of equals), or sigmoid >= threshold for K = 1. */
function classIds(logits, threshold) {
  const [, k, h, w] = logits.dims;
  const n = h * w;
  const x = logits.data;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    if (k === 1) {
      mask[i] = f32(1 / (1 + Math.exp(-x[i]))) >= threshold ? 1 : 0;
      continue;
    }
    let best = 0;
    for (let c = 1; c < k; c++) if (x[c * n + i] > x[best * n + i]) best = c;
    mask[i] = best;
  }
  return mask;
}

/** The image with each class's colour blended in at `alpha`; a black class 0 (background) stays uncoloured. */
function drawOverlay(pixels, mask, palette, show, alpha = 0.5) {
  const canvas = $('view');
  canvas.width = pixels.width;
  canvas.height = pixels.height;
  canvas.style.width = `${pixels.width * Math.max(1, Math.floor(480 / pixels.width))}px`; // small images shown larger
  const out = new ImageData(new Uint8ClampedArray(pixels.data), pixels.width, pixels.height);
  const skip0 = palette[0] && palette[0].every((v) => v === 0);
  if (show) {
    for (let i = 0; i < mask.length; i++) {
      const id = mask[i];
      if (id === 0 && skip0) continue;
      const colour = palette[id] ?? [255, 255, 255];
      for (let c = 0; c < 3; c++) out.data[i * 4 + c] = Math.round((1 - alpha) * pixels.data[i * 4 + c] + alpha * colour[c]);
    }
  }
  for (let i = 3; i < out.data.length; i += 4) out.data[i] = 255;
  canvas.getContext('2d').putImageData(out, 0, 0);
}

/** The class legend: a colour, the name and, after a prediction, the share of pixels. */
function drawLegend(classes, palette, mask) {
  const counts = new Array(classes.length).fill(0);
  if (mask) for (const id of mask) counts[id]++;
  $('legend').replaceChildren(...classes.map((name, id) => {
    const li = document.createElement('li');
    const swatch = document.createElement('span');
    swatch.style.background = `rgb(${(palette[id] ?? [255, 255, 255]).join(',')})`;
    li.append(swatch, mask ? `${name} ${((100 * counts[id]) / mask.length).toFixed(1)}%` : name);
    return li;
  }));
}

async function main() {
  const status = $('status');
  const fail = (e) => {
    status.textContent = String(e?.message ?? e);
    status.className = 'error';
    window.segkit.error = status.textContent;
  };
  window.segkit = {};
  let model;
  try {
    model = await loadModel();
  } catch (e) {
    $('runtime').textContent = 'the model could not be loaded';
    return fail(e);
  }
  const { meta, session } = model;
  const threads = ort.env.wasm.numThreads;
  $('title').textContent = meta.name ?? 'segkit';
  $('runtime').textContent = `ONNX Runtime Web ${ort.env.versions.web}, WebAssembly, ${threads} thread${threads === 1 ? '' : 's'}` +
    (self.crossOriginIsolated ? '' : ' (serve the page cross-origin isolated for more)');
  if (meta.classes) drawLegend(meta.classes, meta.palette);
  window.segkit.ready = true;
  let last;

  async function predict(file) {
    status.className = '';
    status.textContent = `predicting ${file.name}…`;
    try {
      const t0 = performance.now();
      const pixels = await readPixels(file);
      const input = normalize(pixels, meta.normalize);
      const t1 = performance.now();
      const outputs = await session.run({ [session.inputNames[0]]: input });
      const t2 = performance.now();
      const name = ['out', 'logits'].find((n) => n in outputs) ?? session.outputNames[0];
      const logits = outputs[name];
      const mask = classIds(logits, meta.threshold ?? 0.5);
      const classes = meta.classes ?? Array.from({ length: Math.max(logits.dims[1], 2) }, (_, i) => `class ${i}`);
      last = { file: file.name, width: pixels.width, height: pixels.height, mask, pixels };
      drawOverlay(pixels, mask, meta.palette, $('show').checked);
      drawLegend(classes, meta.palette, mask);
      const t3 = performance.now();
      for (const t of Object.values(outputs)) t.dispose?.();
      status.textContent = `${file.name}, ${pixels.width}x${pixels.height}: ${Math.round(t3 - t0)} ms (model ${Math.round(t2 - t1)} ms, ${threads} thread${threads === 1 ? '' : 's'})`;
      window.segkit.last = { file: file.name, width: pixels.width, height: pixels.height, mask: Array.from(mask), ms: t3 - t0, modelMs: t2 - t1, threads };
    } catch (e) {
      fail(e);
    }
  }

  $('file').addEventListener('change', (e) => e.target.files[0] && predict(e.target.files[0]));
  $('show').addEventListener('change', () => last && drawOverlay(last.pixels, last.mask, meta.palette, $('show').checked));
  const drop = $('drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = [...e.dataTransfer.files].find((f) => f.type.startsWith('image/'));
    if (file) predict(file);
  });
}

main();
