// The committed src/torch/ops.generated.ts must match the op schemas of the linked libtorch.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';

const script = join(repoRoot, 'scripts', 'gen-ops.mjs');
const check = (cwd: string) => spawnSync(process.execPath, [script, '--check'], { cwd, encoding: 'utf8' });

test('gen-ops --check passes on the committed ops.generated.ts', () => {
  const r = check(repoRoot);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /matches libtorch \d+\.\d+/);
});

test('gen-ops --check fails when the committed file has drifted', () => {
  // the script reads src/torch/ops.generated.ts relative to its working directory
  const dir = mkdtempSync(join(tmpdir(), 'segkit-genops-'));
  try {
    mkdirSync(join(dir, 'src', 'torch'), { recursive: true });
    const text = readFileSync(join(repoRoot, 'src', 'torch', 'ops.generated.ts'), 'utf8');
    const drifted = text.replace(/^  'relu': .*$/m, "  'relu': (self: Tensor, extra: number) => Tensor;");
    assert.notEqual(drifted, text);
    writeFileSync(join(dir, 'src', 'torch', 'ops.generated.ts'), drifted);
    const r = check(dir);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /does not match the linked libtorch/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
