// The README's examples run as written (through the package's own exports): the taste leaks
// nothing, the pretrained-weights one resolves a name offline from a stand-in torch.hub cache, and
// the models one builds, adapts and runs a DeepLabv3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { repoRoot } from './paths.js';

/** Runs the first js block under `heading` (plus `epilogue`) inside the package folder, so `import 'segkit'` resolves to this checkout. */
function runExample(heading: string, file: string, epilogue = '', env: NodeJS.ProcessEnv = process.env): string[] {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const code = /```js\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf(heading)))?.[1];
  assert.ok(code, `README has no js block under "${heading}"`);
  const dir = join(repoRoot, 'dist', 'readme');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  writeFileSync(path, `${code}${epilogue}`);
  const r = spawnSync(process.execPath, [path], { encoding: 'utf8', cwd: repoRoot, env });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim().split('\n');
}

test('the README example runs and ends with no live tensors', () => {
  const lines = runExample('## A taste', 'taste.mjs');
  assert.match(lines[0], /^step 0: loss \d/);
  assert.equal(lines.at(-1), '0', `the example leaked: ${lines.join('\n')}`);
});

test('the README\'s pretrained-weights example resolves a name from the torch.hub cache, offline', () => {
  const torchHome = mkdtempSync(join(tmpdir(), 'segkit-readme-'));
  try {
    const cached = join(torchHome, 'hub', 'checkpoints', 'deeplabv3_resnet101_coco-586e9e4e.pth');
    mkdirSync(dirname(cached), { recursive: true });
    writeFileSync(cached, 'stand-in');
    const lines = runExample('## Pretrained weights', 'pretrained.mjs', '\nconsole.log(w.name, file);\n', { ...process.env, TORCH_HOME: torchHome, SEGKIT_OFFLINE: '1' });
    assert.equal(lines.join('\n'), `COCO_WITH_VOC_LABELS_V1 ${cached}`);
  } finally {
    rmSync(torchHome, { recursive: true, force: true });
  }
});

test('the README\'s models example builds, adapts and runs a DeepLabv3 as written', () => {
  const lines = runExample('## Models', 'models.mjs', '\nconsole.log(torch.memory().tensors);\n');
  assert.equal(lines[0], '[ 2, 4, 97, 131 ] [ 2, 4, 97, 131 ]');
  assert.equal(lines.at(-1), '0', `the example leaked: ${lines.join('\n')}`);
});

test('the README\'s metrics example counts two batches and prints the per-class table', () => {
  const lines = runExample('## Metrics', 'metrics.mjs', '\nconsole.log(torch.memory().tensors);\n');
  assert.match(lines[0]!, /^0\.\d{3} 0\.\d{3} \[\]$/);
  assert.match(lines[1]!, /^class\s+IoU %\s+Dice %\s+precision %\s+recall %\s+pixels$/);
  assert.match(lines.find((l) => l.startsWith('mean')) ?? '', /^mean\s+\d+\.\d\d/);
  assert.equal(lines.at(-1), '0', `the example leaked: ${lines.join('\n')}`);
});

test('the README\'s ONNX example exports a UNet that ONNX Runtime runs at another size', () => {
  const lines = runExample('## Export to ONNX', 'export.mjs', '\nconst { torch } = await import(\'segkit\');\nconsole.log(torch.memory().tensors);\n');
  assert.equal(lines[0], '[ 1, 3, 120, 90 ]');
  assert.equal(lines.at(-1), '0', `the example leaked: ${lines.join('\n')}`);
});

test("the README's serving example answers JSON class counts in-process and frees the model on close", () => {
  const lines = runExample('## Serving', 'serving.mjs');
  assert.match(lines[0]!, /^200 background \d+, disc \d+, square \d+$/);
  assert.equal(lines.at(-1), '0', `the example leaked: ${lines.join('\n')}`);
});

test('the README\'s detection example suppresses the overlapping box and pools three boxes', () => {
  const lines = runExample('## Detection building blocks', 'detection.mjs', '\nconsole.log(torch.memory().tensors);\n');
  assert.deepEqual(lines.slice(0, 2), ['[ 0, 2 ]', '[ 3, 256, 7, 7 ]']);
  assert.equal(lines.at(-1), '0', `the example leaked: ${lines.join('\n')}`);
});

