// The train config: defaults, errors that point at the key and list the valid ones, --set
// overrides, and the generated --help listing every key with its default.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { applyOverrides, configHelp, keysAt, loadTrainConfig, parseTrainConfig } from '../../src/train/config.js';

const errorOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail('expected an error');
};

test('a minimal config gets every default', () => {
  const c = parseTrainConfig({ data: { path: 'data/shapes' } });
  assert.equal(c.name, 'run');
  assert.equal(c.model.name, 'unet');
  assert.deepEqual([c.optimizer.name, c.optimizer.lr, c.optimizer.weightDecay], ['adamw', 1e-3, 0]);
  assert.equal(c.scheduler.name, 'none');
  assert.deepEqual([c.train.gradAccum, c.train.amp, c.train.nonFinite, c.train.epochs], [1, false, 'stop', undefined]);
  assert.deepEqual([c.val.every, c.val.unit, c.val.metric, c.val.mode], [1, 'epoch', 'miou', 'max']);
  assert.deepEqual([c.checkpoint.every, c.checkpoint.keep, c.ema.enabled], [1, 2, false]);
  assert.deepEqual(c.loss, { output: 'softmax', auxWeight: 0.5, terms: [{ name: 'ce', weight: 1, labelSmoothing: 0 }] });
});

test('an unknown key names its dotted path, suggests the close one and lists the valid keys', () => {
  const msg = errorOf(() => parseTrainConfig({ data: { path: 'x', bathSize: 4 } }, 'cfg.yaml'));
  assert.match(msg, /^invalid train config cfg\.yaml:/);
  assert.match(msg, /data\.bathSize: unknown key \(did you mean batchSize\?\); valid keys in data: path, labelMap, .*batchSize/);
  const top = errorOf(() => parseTrainConfig({ data: { path: 'x' }, optimiser: {} }));
  assert.match(top, /optimiser: unknown key \(did you mean optimizer\?\); valid keys: name, outDir, seed, threads, device, data, model, optimizer/);
});

test('a wrong value names the key, what is allowed and what was given', () => {
  const msg = errorOf(() => parseTrainConfig({ data: { path: 'x' }, optimizer: { name: 'adm', lr: -1 } }));
  assert.match(msg, /optimizer\.name: .*"sgd".*"adamw".*\(got "adm"\)/);
  assert.match(msg, /optimizer\.lr: .*\(got -1\)/);
  assert.match(errorOf(() => parseTrainConfig({})), /data\.path: missing, and it has no default \(dataset folder/);
  assert.match(errorOf(() => parseTrainConfig({ data: { path: 'x' }, train: { epochs: 2, iterations: 9 } })), /train\.iterations: give train\.epochs or train\.iterations, not both/);
  assert.match(errorOf(() => parseTrainConfig({ data: { path: 'x' }, scheduler: { name: 'step' } })), /scheduler\.stepSize: scheduler step needs stepSize/);
  // the loss spec (src/losses): list items are named by index, their keys by their loss
  assert.match(errorOf(() => parseTrainConfig({ data: { path: 'x' }, loss: { terms: [{ name: 'ce' }, { name: 'focal', gama: 2 }] } })), /loss\.terms\[1\]\.gama: unknown key \(did you mean gamma\?\); valid keys in loss\.terms\[1\]: name, weight, gamma, alpha, classWeights/);
  assert.match(errorOf(() => parseTrainConfig({ data: { path: 'x' }, loss: { terms: [{ name: 'focl' }] } })), /loss\.terms\[0\]\.name: .*'focal'.*\(got "focl"\)/);
});

test('--set overrides dotted keys with YAML-typed values and is validated like the file', () => {
  const raw = applyOverrides({ data: { path: 'x' }, train: { epochs: 3 } }, ['optimizer.lr=0.01', 'train.amp=true', 'data.crop=[64, 48]', 'name=quick', 'scheduler.name=poly', 'train.epochs=null', 'train.iterations=9']);
  assert.deepEqual(raw, { data: { path: 'x', crop: [64, 48] }, optimizer: { lr: 0.01 }, train: { amp: true, iterations: 9 }, name: 'quick', scheduler: { name: 'poly' } });
  const c = parseTrainConfig(applyOverrides({ data: { path: 'x' } }, ['optimizer.lr=0.01', 'data.crop=[64, 48]', 'loss.terms=[{name: ce, classWeights: [1, 2]}]']));
  assert.deepEqual([c.optimizer.lr, c.data.crop, (c.loss.terms[0] as { classWeights?: number[] }).classWeights], [0.01, [64, 48], [1, 2]]);
  assert.match(errorOf(() => parseTrainConfig(applyOverrides({ data: { path: 'x' } }, ['optimizer.lrr=1']))), /optimizer\.lrr: unknown key \(did you mean lr\?\)/);
  assert.match(errorOf(() => applyOverrides({ data: { path: 'x' } }, ['data.path.sub=1'])), /data\.path is "x", not a section/);
  assert.match(errorOf(() => applyOverrides({}, ['lr'])), /expected key=value/);
});

test('YAML and JSON files load, with the file named in errors', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-cfg-'));
  try {
    writeFileSync(join(dir, 'a.yaml'), 'name: y\ndata:\n  path: d\noptimizer: {name: sgd, lr: 0.1}\n');
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ data: { path: 'd' }, train: { iterations: 5 } }));
    writeFileSync(join(dir, 'bad.yaml'), 'data: {path: d}\nmodel: {nam: unet}\n');
    const a = loadTrainConfig(join(dir, 'a.yaml'), ['optimizer.momentum=0.5']);
    assert.deepEqual([a.name, a.optimizer.name, a.optimizer.lr, a.optimizer.momentum], ['y', 'sgd', 0.1, 0.5]);
    assert.equal(loadTrainConfig(join(dir, 'b.json')).train.iterations, 5);
    assert.match(errorOf(() => loadTrainConfig(join(dir, 'bad.yaml'))), /bad\.yaml:\n {2}model\.nam: unknown key \(did you mean name\?\)/);
    assert.match(errorOf(() => loadTrainConfig(join(dir, 'missing.yaml'))), /missing\.yaml: cannot read the train config/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('segkit train --help lists every config key with its default', () => {
  const help = configHelp();
  for (const section of keysAt([])) {
    const sub = keysAt([section]);
    const leaves = sub.length ? sub.map((k) => `${section}.${k}`) : [section];
    for (const key of leaves) {
      if (key === 'model.options') continue;
      assert.match(help, new RegExp(`^ {2}${key.replace('.', '\\.')} `, 'm'), `--help misses ${key}`);
    }
  }
  assert.match(help, /^ {2}optimizer\.lr +\(default 0\.001\) +learning rate/m);
  assert.match(help, /^ {2}train\.gradAccum +\(default 1\)/m);
  const r = spawnSync(process.execPath, [join(repoRoot, 'dist', 'src', 'cli', 'main.js'), 'train', '--help'], { encoding: 'utf8' });
  assert.equal(r.status, 0);
  assert.match(r.stdout, /--resume/);
  assert.match(r.stdout, /--set <key=value>/);
  assert.match(r.stdout, /scheduler\.name +\(default "none"\)/);
});

test('the configs/ presets validate', () => {
  const files = readdirSync(join(repoRoot, 'configs')).filter((f) => /\.(ya?ml|json)$/.test(f));
  assert.ok(files.length > 0);
  for (const f of files) assert.doesNotThrow(() => loadTrainConfig(join(repoRoot, 'configs', f)), f);
});

test("the README's training config example validates", () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const yaml = /```yaml\n([\s\S]*?)```/.exec(readme.slice(readme.indexOf('## Training')))?.[1];
  assert.ok(yaml, 'README has a yaml block under "## Training"');
  const dir = mkdtempSync(join(tmpdir(), 'segkit-readme-cfg-'));
  try {
    writeFileSync(join(dir, 'c.yaml'), yaml);
    const c = loadTrainConfig(join(dir, 'c.yaml'));
    assert.deepEqual([c.name, c.scheduler.name, c.earlyStopping.patience, c.loss.terms.map((t) => t.name)], ['shapes-unet', 'onecycle', 10, ['focal', 'dice']]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
