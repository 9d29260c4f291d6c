// Exact resume: `segkit train` killed with a real SIGKILL (mid-epoch, and while a checkpoint is
// being written) and resumed with --resume ends with the same bytes, weights, optimizer state and
// EMA, as an uninterrupted run with the same seed; its train.jsonl reads as one run.
// SEGKIT_TEST_PAUSE makes the child stop at a named point so the kill lands exactly there.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../paths.js';
import { generateShapes } from '../../src/data/bundled.js';
import { JsonlLog } from '../../src/train/logging.js';
import { readEvents } from './tfevents-reader.js';

const cli = join(repoRoot, 'dist', 'src', 'cli', 'main.js');
let tmp: string;

// 9 train images in batches of 2: 5 batches (the last one short) per epoch, 15 steps; random
// flips, onecycle, clipping, BatchNorm and EMA all have state that must survive the kill.
const config = {
  seed: 3,
  threads: 1,
  data: { path: 'shapes', batchSize: 2, transforms: [{ name: 'horizontalFlip' }, { name: 'verticalFlip' }, { name: 'normalize' }] },
  model: { name: 'unet', options: { baseWidth: 4, depth: 2 } },
  optimizer: { name: 'adamw', lr: 0.01, weightDecay: 0.01 },
  scheduler: { name: 'onecycle' },
  train: { epochs: 3, gradClip: 1.0 },
  checkpoint: { every: 2, unit: 'iteration', keep: 0 },
  ema: { enabled: true, decay: 0.9 },
};

function train(name: string, ...extra: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, [cli, 'train', 'cfg.json', '--set', `name=${name}`, ...extra], { cwd: tmp, encoding: 'utf8' });
  return { status: r.status, out: r.stdout + r.stderr };
}

/** Starts a run that pauses at `where`, SIGKILLs it there, and returns once it is dead. */
async function trainAndKillAt(name: string, where: string, whilePaused?: () => void): Promise<void> {
  const child = spawn(process.execPath, [cli, 'train', 'cfg.json', '--set', `name=${name}`], { cwd: tmp, env: { ...process.env, SEGKIT_TEST_PAUSE: where }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
  await new Promise<void>((resolve, reject) => {
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (err.includes(`SEGKIT_PAUSED ${where}`)) resolve();
    });
    child.on('exit', () => reject(new Error(`the run exited before pausing at ${where}:\n${err}`)));
  });
  whilePaused?.();
  child.kill('SIGKILL');
  assert.equal(await exited, 'SIGKILL');
}

const ckpt = (run: string, step: number, file: string): Buffer => readFileSync(join(tmp, 'runs', run, 'checkpoints', `step-${String(step).padStart(8, '0')}`, file));
const trainRecords = (run: string) => JsonlLog.read(join(tmp, 'runs', run, 'train.jsonl')).filter((r) => r.type === 'train' || r.type === 'val');

function assertSameEnd(run: string): void {
  for (const f of ['model.safetensors', 'optimizer.safetensors', 'ema.safetensors']) {
    assert.ok(ckpt('ref', 15, f).equals(ckpt(run, 15, f)), `${run}: final ${f} differs from the uninterrupted run`);
  }
  assert.ok(readFileSync(join(tmp, 'runs', 'ref', 'last.safetensors')).equals(readFileSync(join(tmp, 'runs', run, 'last.safetensors'))), `${run}: last.safetensors differs`);
  assert.deepEqual(trainRecords(run), trainRecords('ref'), `${run}: the resumed run's loss/lr/metric records differ from the uninterrupted run's`);
}

before(async () => {
  tmp = mkdtempSync(join(tmpdir(), 'segkit-resume-'));
  await generateShapes({ dir: join(tmp, 'shapes'), count: 12, size: 32 });
  writeFileSync(join(tmp, 'cfg.json'), JSON.stringify(config));
  const r = train('ref');
  assert.equal(r.status, 0, r.out);
});
after(() => rmSync(tmp, { recursive: true, force: true }));

test('SIGKILL mid-epoch, then --resume: final weights, optimizer and EMA bit-identical to an uninterrupted run', async () => {
  await trainAndKillAt('mid', 'step:7', () => {
    // while it runs, a second training of the same run folder is refused
    const second = train('mid', '--resume');
    assert.equal(second.status, 1);
    assert.match(second.out, /runs\/mid is in use by another training \(process \d+/);
  }); // killed in epoch 2, after the checkpoint of step 6; its lock is left behind and taken over
  const state = JSON.parse(ckpt('mid', 6, 'state.json').toString()) as { loader: { epoch: number; position: number } };
  assert.deepEqual([state.loader.epoch, state.loader.position], [1, 1], 'the newest checkpoint is mid-epoch');
  assert.ok(!existsSync(join(tmp, 'runs', 'mid', 'last.safetensors')));
  const r = train('mid', '--resume');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /resumed .* from .*step-00000006 \(step 6, epoch 1, batch 1\)/);
  assertSameEnd('mid');
  // TensorBoard: one event file per process; the resumed one opens with a session start at step 6
  const files = readdirSync(join(tmp, 'runs', 'mid')).filter((f) => f.startsWith('events.out.tfevents.'));
  assert.equal(files.length, 2);
  const starts = files.map((f) => readEvents(join(tmp, 'runs', 'mid', f))[1]).filter((e) => e?.sessionStatus !== undefined);
  assert.deepEqual(starts.map((e) => [e!.step, e!.sessionStatus]), [[6, 1]]);
});

test('SIGKILL during a checkpoint write: the partial checkpoint is ignored and removed, resume is still exact', async () => {
  await trainAndKillAt('write', 'checkpoint:8'); // files written to the temp folder, not renamed yet
  const dir = join(tmp, 'runs', 'write', 'checkpoints');
  const names = readdirSync(dir);
  assert.ok(names.some((n) => n.startsWith('step-00000008.tmp-')), `a temp folder is left: ${names.join(', ')}`);
  assert.ok(!names.includes('step-00000008'));
  const r = train('write', '--resume');
  assert.equal(r.status, 0, r.out);
  assert.match(r.out, /from .*step-00000006 .*removed an interrupted write: step-00000008\.tmp-/);
  assert.ok(!readdirSync(dir).some((n) => n.includes('.tmp-')));
  assertSameEnd('write');
});

test('a finished run is not trained further by --resume; a new run refuses an existing run folder', () => {
  const again = train('ref', '--resume');
  assert.equal(again.status, 0, again.out);
  assert.match(again.out, /had finished at step 15/);
  const before = readdirSync(join(tmp, 'runs', 'ref')).sort();
  const fresh = train('ref');
  assert.equal(fresh.status, 1);
  assert.match(fresh.out, /already has checkpoints .*--resume/);
  assert.deepEqual(readdirSync(join(tmp, 'runs', 'ref')).sort(), before, 'a refused run writes nothing into the existing run folder');
  const changed = train('ref', '--resume', '--set', 'optimizer.lr=0.02');
  assert.match(changed.out, /warning: resuming with a config that differs from .*config\.json: optimizer\.lr: 0\.01 -> 0\.02/);
});

test('Ctrl-C (SIGINT) stops after the current step with a checkpoint, exit code 130; --resume finishes the run', async () => {
  const args = [cli, 'train', 'cfg.json', '--set', 'name=int', '--set', 'train.epochs=30', '--set', 'ema.enabled=false'];
  const child = spawn(process.execPath, args, { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let sent = false;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    if (!sent && out.includes('validation at step 5 ')) (sent = true), child.kill('SIGINT'); // once: a second Ctrl-C quits at once
  });
  assert.equal(await exited, 130, out);
  const m = /interrupted at step (\d+); checkpoint (\S+)\./.exec(out);
  assert.ok(m, out);
  const step = Number(m[1]);
  assert.ok(step >= 5 && step < 150, `stopped at step ${step}`);
  assert.ok(existsSync(join(tmp, 'runs', 'int', 'checkpoints', `step-${String(step).padStart(8, '0')}`, 'state.json')));
  const r = spawnSync(process.execPath, [...args, '--resume'], { cwd: tmp, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`resumed .* \\(step ${step},`));
  assert.deepEqual(trainRecords('int').filter((x) => x.type === 'train').map((x) => x.step), Array.from({ length: 150 }, (_, i) => i + 1));
});
