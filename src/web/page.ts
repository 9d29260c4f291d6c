// The browser page `segkit export --web DIR` writes: a static folder that runs an exported model
// with ONNX Runtime Web (WebAssembly) and works offline. The page itself lives in web/ (plain HTML
// and one module script); this copies it beside the model, its metadata as model.json, and the
// onnxruntime-web files it loads (ort/), so DIR can be served by any static HTTP server.
//
//   writeWebPage('site', readFileSync('model.onnx'));   // metadata read from the .onnx
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic } from '../data/splits.js';
import { vocPalette } from '../data/labelmap.js';
import { onnxMetadataProps, segkitMetadata, type SegkitOnnxMetadata } from '../ort/metadata.js';

// web/ at the package root: this file is <root>/dist/src/web/page.js (or <root>/src/web/page.ts)
const HERE = dirname(fileURLToPath(import.meta.url));
const PAGE_DIR = join(HERE, basename(resolve(HERE, '..', '..')) === 'dist' ? '../../..' : '../..', 'web');
const PAGE_FILES = ['index.html', 'app.mjs'];
// ort.wasm.min.mjs loads ort-wasm-simd-threaded.mjs, which loads the .wasm beside it
const ORT_FILES = ['ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];

export interface WebPageMetadata extends SegkitOnnxMetadata {
  /** One-channel models: foreground at this probability or above (default 0.5). */
  threshold?: number;
}

export interface WrittenWebPage {
  dir: string;
  /** Every file written, relative to dir. */
  files: string[];
  /** What the page reads from model.json. */
  modelJson: Required<Pick<WebPageMetadata, 'palette' | 'normalize' | 'threshold'>> & WebPageMetadata;
}

/** The dist/ folder of the installed onnxruntime-web, with a message that says how to get it. */
function ortWebDist(): string {
  try {
    return dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
  } catch {
    throw new Error('the browser page needs the npm package onnxruntime-web (npm install onnxruntime-web@1.30)');
  }
}

/**
 * Writes the page into `dir` (created if needed): index.html, app.mjs, model.onnx, model.json
 * and ort/. `metadata` defaults to the .onnx file's own segkit.* metadata; normalisation falls
 * back to ImageNet's and the palette to VOC's colours, as `segkit predict` does.
 */
export function writeWebPage(dir: string, onnxBytes: Uint8Array, metadata?: WebPageMetadata): WrittenWebPage {
  const meta: WebPageMetadata = metadata ?? segkitMetadata(onnxMetadataProps(onnxBytes));
  const modelJson = {
    ...meta,
    palette: meta.palette ?? vocPalette(256),
    normalize: meta.normalize ?? { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] },
    threshold: meta.threshold ?? 0.5,
  };
  const ortDist = ortWebDist();
  mkdirSync(join(dir, 'ort'), { recursive: true });
  const files: string[] = [];
  for (const f of PAGE_FILES) {
    writeFileAtomic(join(dir, f), readFileSync(join(PAGE_DIR, f)));
    files.push(f);
  }
  for (const f of ORT_FILES) {
    writeFileAtomic(join(dir, 'ort', f), readFileSync(join(ortDist, f)));
    files.push(`ort/${f}`);
  }
  writeFileAtomic(join(dir, 'model.onnx'), onnxBytes);
  writeFileAtomic(join(dir, 'model.json'), `${JSON.stringify(modelJson, null, 1)}\n`);
  files.push('model.onnx', 'model.json');
  return { dir, files, modelJson };
}
