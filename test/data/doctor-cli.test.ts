// The data commands end to end, each in a child process (exit codes are part of the contract).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import sharp from 'sharp';
import { repoRoot } from '../paths.js';
import { readSplitCsv, timestampOf } from '../../src/data/splits.js';

let tmp: string;
let data: string;

const cliModule = pathToFileURL(join(repoRoot, 'dist', 'src', 'cli', 'data.js')).href;
function segkit(...args: string[]): { status: number | null; out: string } {
  const script = `import { Command } from 'commander'; import { registerDataCommands } from '${cliModule}';
const p = new Command('segkit'); p.exitOverride(); registerDataCommands(p);
try { await p.parseAsync(process.argv.slice(1), { from: 'user' }); } catch (e) { if (e.code?.startsWith?.('commander.')) process.exit(e.exitCode); console.error(e.message); process.exit(2); }`;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, ...args], { cwd: repoRoot, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

async function png(file: string, data: Buffer, channels: 1 | 3, size = 16): Promise<void> {
  mkdirSync(join(file, '..'), { recursive: true });
  await sharp(data, { raw: { width: size, height: size, channels } }).png().toFile(file);
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-cli-'));
  data = join(tmp, 'frames');
  // 10 frames named by timestamp; classes 0 and 1 everywhere, class 2 in frames 3 and 8 only.
  for (let i = 0; i < 10; i++) {
    const t = (1541096330 + ((i * 7) % 10)).toString() + '.5';
    const img = Buffer.alloc(16 * 16 * 3, 10 * i + 5);
    const mask = Buffer.alloc(16 * 16);
    for (let p = 0; p < mask.length; p++) mask[p] = p < 128 ? 0 : 1;
    if (i === 3 || i === 8) mask.fill(2, 0, 40);
    await png(join(data, 'images', `cam_${t}.png`), img, 3);
    await png(join(data, 'masks', `cam_${t}.png`), mask, 1);
  }
  writeFileSync(join(data, 'labelmap.json'), JSON.stringify({ classes: ['road', 'car', 'bike'] }));
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('split --ratios writes a CSV that reads back with the right sizes', () => {
  const out = join(tmp, 'random.csv');
  const r = segkit('split', data, '--ratios', '6:2:2', '--seed', '4', '--out', out);
  assert.equal(r.status, 0, r.out);
  const s = readSplitCsv(out);
  assert.deepEqual(s.names.map((n) => s.parts[n].length), [6, 2, 2]);
  assert.match(r.out, /train\s+6 \(60\.0%\)/);
  // Same seed, same file.
  segkit('split', data, '--ratios', '6:2:2', '--seed', '4', '--out', join(tmp, 'again.csv'));
  assert.equal(readFileSync(join(tmp, 'again.csv'), 'utf8'), readFileSync(out, 'utf8'));
});

test('split --ordered --key timestamp: earliest frames train, latest test', () => {
  const out = join(tmp, 'ordered.csv');
  const r = segkit('split', data, '--ordered', '--key', 'timestamp', '--out', out);
  assert.equal(r.status, 0, r.out);
  const s = readSplitCsv(out);
  const t = (p: string) => s.parts[p].map((x) => timestampOf(x));
  assert.deepEqual(t('train'), [0, 1, 2, 3, 4, 5, 6].map((k) => 1541096330.5 + k));
  assert.deepEqual(t('val'), [1541096337.5, 1541096338.5]);
  assert.deepEqual(t('test'), [1541096339.5]);
});

test('split --stratified puts the rare class in train and val and reports test', () => {
  const out = join(tmp, 'strat.csv');
  const r = segkit('split', data, '--stratified', '--out', out);
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /class bike is not in test: only 2 image\(s\) contain it/);
  const s = readSplitCsv(out);
  const bikeFrames = ['cam_1541096331.5', 'cam_1541096336.5']; // frames 3 and 8
  assert.equal(s.parts.train.filter((x) => bikeFrames.includes(x.id)).length, 1);
  assert.equal(s.parts.val.filter((x) => bikeFrames.includes(x.id)).length, 1);
});

test('stats --out prints the table and saves JSON', () => {
  const out = join(tmp, 'stats.json');
  const r = segkit('stats', data, '--out', out);
  assert.equal(r.status, 0, r.out);
  const s = JSON.parse(readFileSync(out, 'utf8'));
  assert.deepEqual(s.classPixels, [10 * 128 - 80, 10 * 128, 80]);
  assert.deepEqual(s.classImages, [10, 10, 2]);
  assert.match(r.out, /bike\s+80/);
});

test('preview --n --out writes a PNG grid', async () => {
  const out = join(tmp, 'grid.png');
  const r = segkit('preview', data, '--n', '4', '--size', '16', '--tile', '24', '--out', out);
  assert.equal(r.status, 0, r.out);
  const m = await sharp(out).metadata();
  // 2 x 2 tiles, each with its sample id under it (16 px), then the legend.
  assert.equal(m.width, 2 * 24 + 3 * 4);
  assert.ok(m.height! > 2 * (24 + 16) + 3 * 4, `height ${m.height}`);
  assert.match(r.out, /4 samples: cam_\d+\.5/);
});

test('doctor exit codes: 0 when clean, 1 on errors, --fail-on warn counts warnings', () => {
  const clean = segkit('doctor', data, '--imbalance', '100');
  assert.equal(clean.status, 0, clean.out);
  assert.match(clean.out, /0 error\(s\), 0 warning\(s\)/);
  // bike has 80 pixels against 1280 of car: the default ratio limit 10 warns.
  const warn = segkit('doctor', data, '--fail-on', 'warn', '--html', join(tmp, 'r.html'), '--json', join(tmp, 'r.json'));
  assert.equal(warn.status, 1, warn.out);
  assert.match(warn.out, /WARN  imbalance/);
  assert.equal(JSON.parse(readFileSync(join(tmp, 'r.json'), 'utf8')).warnings, 1);
  assert.match(readFileSync(join(tmp, 'r.html'), 'utf8'), /severe class imbalance/);
  writeFileSync(join(data, 'masks', 'stray.png'), 'not a png');
  const bad = segkit('doctor', data);
  assert.equal(bad.status, 1, bad.out);
  assert.match(bad.out, /ERROR missing-image \(1\)/);
  rmSync(join(data, 'masks', 'stray.png'));
  assert.equal(segkit('doctor', join(tmp, 'nowhere')).status, 2);
});
