// segkit's side of the detection micro-timings (bench/micro/README.md): Mask R-CNN's building
// blocks on the sizes an 800x800 image gives, one process, median of --reps after a warm-up.
//
//   node dist/bench/micro/detection-ops.js --threads 2 --reps 5 [--only NAME,NAME]
//
// One JSON line per case on stdout, {"case", "runner": "segkit", "median_ms", "times_ms"}, the
// same cases and seeded inputs as bench/micro/detection_ops.py (torch.manualSeed draws what
// torch.manual_seed draws there: the same libtorch generator).
import { parseArgs } from 'node:util';
import * as torch from '../../src/torch/index.js';
import { cat, tidy, type Tensor } from '../../src/torch/index.js';
import { MultiScaleRoIAlign, batchedNms, nms } from '../../src/detection/index.js';
import { AnchorGenerator } from '../../src/models/detection/anchors.js';
import { RegionProposalNetwork } from '../../src/models/detection/rpn.js';
import { RPNHead } from '../../src/models/detection/rpn-head.js';
import { median } from '../harness/protocol.js';

const FPN: [string, number][] = [['0', 200], ['1', 100], ['2', 50], ['3', 25]];
const SIZE = 800;

function features(batch: number, cl: boolean): Map<string, Tensor> {
  torch.manualSeed(0);
  return new Map(FPN.map(([name, s]) => {
    const f = torch.rand([batch, 256, s, s]);
    return [name, cl ? f.contiguous('channels_last') : f];
  }));
}

function roiBoxes(batch: number, perImage: number, seed = 1): Tensor[] {
  torch.manualSeed(seed);
  const out: Tensor[] = [];
  for (let i = 0; i < batch; i++) {
    const xy = torch.rand([perImage, 2]).mul(700);
    const wh = torch.rand([perImage, 2]).mul(400).add(8);
    out.push(cat([xy, xy.add(wh).clamp(undefined, SIZE)], 1));
  }
  return out;
}

function nmsInputs(n: number, seed = 2): [Tensor, Tensor] {
  torch.manualSeed(seed);
  const xy = torch.rand([n, 2]).mul(760);
  const wh = torch.rand([n, 2]).mul(200).add(4);
  return [cat([xy, xy.add(wh)], 1), torch.rand([n])];
}

type Setup = () => () => void;
const cases = new Map<string, Setup>();

function roi(name: string, batch: number, perImage: number, out: number, train: boolean, cl: boolean): void {
  cases.set(name, () => {
    const feats = features(batch, cl);
    const boxes = roiBoxes(batch, perImage);
    const pool = new MultiScaleRoIAlign(['0', '1', '2', '3'], out, 2);
    const sizes = Array.from({ length: batch }, (): [number, number] => [SIZE, SIZE]);
    if (!train) return () => torch.inferenceMode(() => pool.call(feats, boxes, sizes).dispose());
    for (const f of feats.values()) f.requiresGrad_(true);
    torch.manualSeed(3);
    const g = torch.rand([batch * perImage, 256, out, out]);
    return () => tidy(() => {
      for (const f of feats.values()) {
        f.grad?.dispose();
        f.grad = undefined;
      }
      pool.call(feats, boxes, sizes).backward(g);
    });
  });
}

for (const cl of [false, true]) {
  const sfx = cl ? '-cl' : '';
  roi(`roialign-7-eval${sfx}`, 1, 1000, 7, false, cl);
  roi(`roialign-14-eval${sfx}`, 1, 1000, 14, false, cl);
  roi(`roialign-7-train${sfx}`, 2, 512, 7, true, cl);
  roi(`roialign-14-train${sfx}`, 2, 512, 14, true, cl);
}

const nmsCase = (n: number): Setup => () => {
  const [b, s] = nmsInputs(n);
  return () => nms(b, s, 0.7).dispose();
};
const batchedCase = (n: number, cats: number): Setup => () => {
  const [b, s] = nmsInputs(n);
  torch.manualSeed(4);
  const idx = torch.randint(0, cats, [n]);
  return () => batchedNms(b, s, idx, cats > 5 ? 0.5 : 0.7).dispose();
};
cases.set('nms-4507', nmsCase(4507));
cases.set('batched-nms-4507x5', batchedCase(4507, 5));
cases.set('batched-nms-8507x5', batchedCase(8507, 5));
cases.set('batched-nms-90000x90', batchedCase(90000, 90));

cases.set('anchors', () => {
  const gen = new AnchorGenerator();
  const images = torch.zeros([1, 3, SIZE, SIZE]);
  const fmaps = [200, 100, 50, 25, 13].map((s) => torch.zeros([1, 1, s, s]));
  return () => torch.inferenceMode(() => tidy(() => void gen.forward(images, fmaps)));
});

const filterCase = (train: boolean): Setup => () => {
  const rpn = new RegionProposalNetwork(new AnchorGenerator(), new RPNHead(256, 3));
  rpn.train(train);
  const perLevel = [200, 100, 50, 25, 13].map((s) => s * s * 3);
  const total = perLevel.reduce((a, b) => a + b, 0);
  const batch = train ? 2 : 1;
  torch.manualSeed(5);
  const objectness = torch.randn([batch * total, 1]);
  const xy = torch.rand([batch, total, 2]).mul(800);
  const wh = torch.rand([batch, total, 2]).mul(300);
  const proposals = cat([xy.sub(50), xy.add(wh)], 2);
  const sizes = Array.from({ length: batch }, (): [number, number] => [SIZE, SIZE]);
  return () => torch.noGrad(() => tidy(() => void rpn.filterProposals(proposals, objectness, sizes, perLevel)));
};
cases.set('rpn-filter-eval', filterCase(false));
cases.set('rpn-filter-train', filterCase(true));

const { values } = parseArgs({ options: { threads: { type: 'string' }, reps: { type: 'string' }, only: { type: 'string' } } });
const threads = Number(values.threads ?? 2);
const reps = Number(values.reps ?? 5);
const only = (values.only ?? '').split(',').filter((s) => s);
torch.setNumThreads(threads);
for (const [name, setup] of cases) {
  if (only.length > 0 && !only.includes(name)) continue;
  const run = setup();
  run();
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  const m = median(times);
  process.stdout.write(JSON.stringify({ case: name, runner: 'segkit', median_ms: Math.round(m * 100) / 100, times_ms: times.map((t) => Math.round(t * 100) / 100) }) + '\n');
  process.stderr.write(`${name}: ${m.toFixed(2)} ms\n`);
}
