// Workload 7's data: the bundled shapes dataset as the demo config trains on it, laid out in
// split folders (<out>/train/images, <out>/train/masks, val/..., test/..., labelmap.json) so
// segkit and the PyTorch peer read the same files of the same split: segkit's random split with
// the config's data.splitRatios and data.splitSeed. Needs the build (dist/).
//
//   node bench/epoch/make_data.mjs --out .cache/bench/epoch-data [--config bench/epoch/shapes-unet.yaml] [--count 240] [--size 96]
import { copyFileSync, mkdirSync, readFileSync, rmSync, renameSync, existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { generateShapes, openInput, randomSplit } from '../../dist/src/data/index.js';

const { values } = parseArgs({ options: { out: { type: 'string' }, config: { type: 'string' }, count: { type: 'string' }, size: { type: 'string' } } });
const out = resolve(values.out ?? '.cache/bench/epoch-data');
const cfg = parseYaml(readFileSync(values.config ?? 'bench/epoch/shapes-unet.yaml', 'utf8')) ?? {};
const ratios = cfg.data?.splitRatios ?? [7, 2, 1];
const seed = cfg.data?.splitSeed ?? 0;
const count = Number(values.count ?? 240);
const size = Number(values.size ?? 96);

const tmp = `${out}.tmp`;
rmSync(tmp, { recursive: true, force: true });
const shapes = await generateShapes({ dir: join(tmp, 'all'), count, size });
// the refs `segkit train` splits for this folder, in the same random split
const opened = await openInput(shapes, {});
const split = randomSplit(opened.spec.refs, ratios, { seed });
for (const [part, refs] of Object.entries(split.parts)) {
  for (const sub of ['images', 'masks']) mkdirSync(join(tmp, 'data', part, sub), { recursive: true });
  for (const r of refs) {
    const name = basename(r.imagePath);
    copyFileSync(join(shapes, 'images', name), join(tmp, 'data', part, 'images', name));
    copyFileSync(join(shapes, 'masks', name), join(tmp, 'data', part, 'masks', name));
  }
}
copyFileSync(join(shapes, 'labelmap.json'), join(tmp, 'data', 'labelmap.json'));
if (existsSync(out)) rmSync(out, { recursive: true, force: true });
renameSync(join(tmp, 'data'), out);
rmSync(tmp, { recursive: true, force: true });
console.log(`epoch data: ${count} shapes images ${size}x${size} split ${split.names.map((n) => `${n} ${split.parts[n].length}`).join(', ')} -> ${out}`);
