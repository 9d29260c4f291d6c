// Workload 5 data: 256 JPEG images 640x480 with PNG label masks (21 classes), deterministic.
// Usage: node bench/loader/make_data.mjs [--out DIR] [--count N]
// Writes DIR/images/NNNN.jpg and DIR/masks/NNNN.png into a temporary folder renamed into place
// at the end, so a half-written set is never mistaken for a finished one.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';

const { values } = parseArgs({ options: { out: { type: 'string', default: '.cache/bench/loader-data' }, count: { type: 'string', default: '256' } } });
const out = resolve(values.out);
const count = Number(values.count);
if (!Number.isInteger(count) || count < 1) throw new Error(`--count must be a positive integer, got ${values.count}`);
if (existsSync(out)) {
  console.error(`make_data: ${out} exists; delete it to regenerate`);
  process.exit(0);
}
const W = 640;
const H = 480;
const tmp = `${out}.tmp-${process.pid}`;
mkdirSync(join(tmp, 'images'), { recursive: true });
mkdirSync(join(tmp, 'masks'), { recursive: true });

// xorshift32: the same files on every machine
let state = 0x2545f491;
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
};

for (let n = 0; n < count; n++) {
  const img = Buffer.alloc(W * H * 3);
  const mask = Buffer.alloc(W * H);
  // background: smooth colour gradients (class 0)
  const base = [rand() * 255, rand() * 255, rand() * 255];
  const gx = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
  const gy = [rand() - 0.5, rand() - 0.5, rand() - 0.5];
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const p = (y * W + x) * 3;
      for (let c = 0; c < 3; c++) img[p + c] = Math.max(0, Math.min(255, base[c] + gx[c] * x * 0.3 + gy[c] * y * 0.3 + 20 * Math.sin((x + y * c) / 23)));
    }
  }
  // objects: ellipses of classes 1..20 with their own colour and texture
  const objects = 4 + Math.floor(rand() * 8);
  for (let k = 0; k < objects; k++) {
    const cls = 1 + Math.floor(rand() * 20);
    const cx = rand() * W;
    const cy = rand() * H;
    const rx = 20 + rand() * 140;
    const ry = 20 + rand() * 110;
    const col = [rand() * 255, rand() * 255, rand() * 255];
    const freq = 2 + rand() * 10;
    for (let y = Math.max(0, Math.floor(cy - ry)); y < Math.min(H, Math.ceil(cy + ry)); y++) {
      for (let x = Math.max(0, Math.floor(cx - rx)); x < Math.min(W, Math.ceil(cx + rx)); x++) {
        const dx = (x - cx) / rx;
        const dy = (y - cy) / ry;
        if (dx * dx + dy * dy > 1) continue;
        const p = y * W + x;
        mask[p] = cls;
        const t = 25 * Math.sin((x + y) / freq);
        for (let c = 0; c < 3; c++) img[p * 3 + c] = Math.max(0, Math.min(255, col[c] + t));
      }
    }
  }
  // sensor-like noise, so the JPEGs are not trivially compressible
  for (let i = 0; i < img.length; i++) img[i] = Math.max(0, Math.min(255, img[i] + (rand() - 0.5) * 16));
  const name = String(n).padStart(4, '0');
  await sharp(img, { raw: { width: W, height: H, channels: 3 } }).jpeg({ quality: 90 }).toFile(join(tmp, 'images', `${name}.jpg`));
  await sharp(mask, { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(join(tmp, 'masks', `${name}.png`));
}
mkdirSync(dirname(out), { recursive: true });
try {
  renameSync(tmp, out);
} catch (e) {
  rmSync(tmp, { recursive: true, force: true });
  if (!existsSync(out)) throw e; // another run finished first: fine
}
console.error(`make_data: wrote ${count} JPEG images ${W}x${H} and PNG masks to ${out}`);
