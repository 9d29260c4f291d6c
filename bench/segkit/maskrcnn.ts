// segkit's runner for maskrcnn-infer and maskrcnn-train (bench/README.md's protocol): the
// registry's maskrcnn_resnet50_fpn (v1, 91 classes) built as torchvision's builder builds it
// without weights (`pretrained: false`: BatchNorm2d, every backbone layer trains), with the peer's
// seeded random weights (`--weights`, written by torch_maskrcnn.py --export-weights) so both sides
// compute the same proposals, detections and sampled RoIs, and the inputs of bench/peers/torch_maskrcnn.py's make_inputs from the
// same libtorch generator. infer: eval mode, inference mode, box score threshold 0 (as the peer:
// random weights score every class about 1/91, so 100 detections and masks per image);
// train: the summed losses, backward, SGD momentum 0.9.
// As the DeepLabv3 runner, the layout (NCHW or channels-last) is the one segkit's chooser picks on
// this machine for the whole model's step (eval: after folding BatchNorm into the convs);
// `--layout nchw|channels_last` forces one.
import * as torch from '../../src/torch/index.js';
import { cat, type Tensor } from '../../src/torch/index.js';
import { maskrcnnResnet50Fpn } from '../../src/models/detection/mask-rcnn.js';
import type { DetectionTarget } from '../../src/models/detection/types.js';
import { SGD } from '../../src/optim/index.js';
import { loadWeights } from '../../src/io/weights.js';
import { chooseLayout, fuseConvBn, type Layout } from '../../src/nn/index.js';
import { emitResult, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 1, size: 800 }, ['score-thresh', 'weights', 'layout']);
const mode = flags.mode ?? 'infer';
if (mode !== 'train' && mode !== 'infer') throw new Error(`--mode must be train or infer, got "${mode}"`);
const scoreThresh = Number(flags.rest['score-thresh'] ?? 0);
const forced = flags.rest.layout as Layout | undefined;
if (forced !== undefined && forced !== 'nchw' && forced !== 'channels_last') throw new Error(`--layout must be nchw or channels_last, got "${forced}"`);
torch.setNumThreads(flags.threads);

/** bench/peers/torch_maskrcnn.py's make_inputs, draw for draw. */
export function makeInputs(batch: number, size: number, withTargets: boolean): { images: Tensor[]; targets: DetectionTarget[] } {
  torch.manualSeed(1);
  const images = torch.rand([batch, 3, size, size]);
  const targets: DetectionTarget[] = [];
  if (withTargets) {
    for (let b = 0; b < batch; b++) {
      const n = torch.randint(3, 11, [1]).item();
      const xy = torch.rand([n, 2]).mul(0.75 * size);
      const wh = torch.rand([n, 2]).mul(0.2 * size).add(0.05 * size);
      const boxes = cat([xy, xy.add(wh)], 1);
      const labels = torch.randint(1, 91, [n]);
      const masks = new Uint8Array(n * size * size);
      const coords = boxes.toArray();
      for (let k = 0; k < n; k++) {
        const [x1, y1, x2, y2] = coords.slice(4 * k, 4 * k + 4);
        for (let y = Math.floor(y1); y < Math.min(Math.ceil(y2), size); y++) masks.fill(1, (k * size + y) * size + Math.floor(x1), (k * size + y) * size + Math.min(Math.ceil(x2), size));
      }
      targets.push({ boxes, labels, masks: torch.tensor(masks, { dtype: 'uint8', shape: [n, size, size] }) });
    }
  }
  return { images: torch.op('unbind.int', images, 0), targets };
}

torch.manualSeed(0);
const model = maskrcnnResnet50Fpn({ pretrained: false, numClasses: 91, boxScoreThresh: scoreThresh });
if (flags.rest.weights !== undefined) loadWeights(model, flags.rest.weights, { strict: true });
const { images, targets } = makeInputs(flags.batch, flags.size, mode === 'train');
const extra: Record<string, unknown> = {};
const batchOf = (x: Tensor): Tensor[] => torch.op('unbind.int', x, 0);
const example = torch.stack(images, 0);
let step: () => void;
let layout: Layout;
if (mode === 'train') {
  model.train();
  // the chooser's steps must leave no trace: BatchNorm statistics restored, gradients cleared
  const buffers = torch.tidy(() => model.namedBuffers().map(([, b]) => b.clone().keep()));
  layout = chooseLayout(model, example, 'train', (x) => torch.tidy(() => {
    const losses = model.losses(batchOf(x), targets);
    Object.values(losses).reduce((a, b) => a.add(b)).backward();
  }), { layout: forced }).layout;
  model.zeroGrad();
  torch.inferenceMode(() => model.namedBuffers().forEach(([, b], i) => b.copy_(buffers[i])));
  buffers.forEach((b) => b.dispose());
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  step = () =>
    torch.tidy(() => {
      opt.zeroGrad();
      const losses = model.losses(images, targets);
      const total = Object.values(losses).reduce((a, b) => a.add(b));
      total.backward();
      opt.step();
      extra.last_loss = total.item();
    });
} else {
  model.eval();
  extra.fused_bn = fuseConvBn(model);
  layout = chooseLayout(model, example, 'eval', (x) => torch.inferenceMode(() => torch.tidy(() => void model.detect(batchOf(x)))), { layout: forced }).layout;
  step = () =>
    torch.inferenceMode(() =>
      torch.tidy(() => {
        extra.detections = model.detect(images).map((d) => d.boxes.size(0));
      }),
    );
  extra.score_thresh = scoreThresh;
}

const times = await timeSteps(step, flags.reps, flags.warmup, `segkit maskrcnn-${mode}`);
emitResult({ workload: `maskrcnn-${mode}`, runner: 'segkit', batch: flags.batch, threads: flags.threads, times, size: flags.size, layout, ...extra });
