// Generate the bundled shapes dataset (needs a build: npm run build).
// Usage: node scripts/make-dataset.mjs [--dir data/shapes] [--seed 0] [--count 48] [--size 128]
import { parseArgs } from 'node:util';
import { generateShapes } from '../dist/src/data/bundled.js';

const { values } = parseArgs({
  options: { dir: { type: 'string' }, seed: { type: 'string' }, count: { type: 'string' }, size: { type: 'string' } },
});
const num = (v) => (v === undefined ? undefined : Number(v));
const t0 = performance.now();
const dir = await generateShapes({ dir: values.dir, seed: num(values.seed), count: num(values.count), size: num(values.size) });
console.log(`shapes dataset written to ${dir} in ${((performance.now() - t0) / 1000).toFixed(2)} s`);
