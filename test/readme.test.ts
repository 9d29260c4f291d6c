// The README's examples run as written (through the package's own exports): the taste leaks
// nothing, and the pretrained-weights one resolves a name offline from a stand-in torch.hub cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './paths.js';

test('the README example runs and ends with no live tensors', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## A taste'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README has no js block under "## A taste"');
  // inside the package folder, so `import 'segkit'` resolves to this checkout
  const dir = join(repoRoot, 'dist', 'readme');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'taste.mjs');
  writeFileSync(file, code);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^step 0: loss \d/);
  assert.equal(lines.at(-1), '0', `the example leaked: ${r.stdout}`);
});

test('the README\'s pretrained-weights example resolves a name from the torch.hub cache, offline', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Pretrained weights'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README has no js block under "## Pretrained weights"');
  const dir = join(repoRoot, 'dist', 'readme');
  mkdirSync(dir, { recursive: true });
  const torchHome = mkdtempSync(join(tmpdir(), 'segkit-readme-'));
  try {
    const cached = join(torchHome, 'hub', 'checkpoints', 'deeplabv3_resnet101_coco-586e9e4e.pth');
    mkdirSync(dirname(cached), { recursive: true });
    writeFileSync(cached, 'stand-in');
    const file = join(dir, 'pretrained.mjs');
    writeFileSync(file, `${code}\nconsole.log(w.name, file);\n`);
    const env = { ...process.env, TORCH_HOME: torchHome, SEGKIT_OFFLINE: '1' };
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: repoRoot, env });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `COCO_WITH_VOC_LABELS_V1 ${cached}`);
  } finally {
    rmSync(torchHome, { recursive: true, force: true });
  }
});

test('the README\'s models example builds, adapts and runs a DeepLabv3 as written', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('## Models'));
  const code = /```js\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(code, 'README has no js block under "## Models"');
  const dir = join(repoRoot, 'dist', 'readme');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, 'models.mjs');
  writeFileSync(file, `${code}\nconsole.log(torch.memory().tensors);\n`);
  const r = spawnSync(process.execPath, [file], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines[0], '[ 2, 4, 97, 131 ] [ 2, 4, 97, 131 ]');
  assert.equal(lines.at(-1), '0', `the example leaked: ${r.stdout}`);
});
