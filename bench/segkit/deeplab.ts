// segkit's runner for deeplabv3-infer and deeplabv3-train (bench/README.md's protocol): the
// registry's deeplabv3_resnet50 (output stride 8, 21 classes, no aux head), random weights, a batch
// of random images. The layout (NCHW or channels-last) is the one segkit's chooser picks on this
// machine, as a user's training or prediction run would get it; `--layout nchw|channels_last`
// forces one.
import * as torch from '../../src/torch/index.js';
import { create } from '../../src/models/index.js';
import { SGD } from '../../src/optim/index.js';
import { prepareForInference, prepareForTraining, type Layout } from '../../src/nn/index.js';
import { emitResult, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 1, size: 512 }, ['layout']);
const mode = flags.mode ?? 'infer';
if (mode !== 'train' && mode !== 'infer') throw new Error(`--mode must be train or infer, got "${mode}"`);
const forced = flags.rest.layout as Layout | undefined;
if (forced !== undefined && forced !== 'nchw' && forced !== 'channels_last') throw new Error(`--layout must be nchw or channels_last, got "${forced}"`);
if (mode === 'train' && flags.batch < 2) throw new Error(`--batch must be >= 2 in train mode (BatchNorm after the ASPP pooling needs 2 samples), got ${flags.batch}`);
torch.setNumThreads(flags.threads);
torch.manualSeed(0);

const model = create('deeplabv3_resnet50', { numClasses: 21, auxLoss: false });
const input = torch.randn([flags.batch, 3, flags.size, flags.size]);

let step: () => void;
let layout: Layout;
if (mode === 'train') {
  layout = prepareForTraining(model, input, { layout: forced }).layout;
  const x = layout === 'channels_last' ? input.contiguous('channels_last') : input;
  const target = torch.randint(0, 21, [flags.batch, flags.size, flags.size]);
  const opt = new SGD(model.parameters(), { lr: 0.01, momentum: 0.9 });
  step = () =>
    torch.tidy(() => {
      opt.zeroGrad();
      torch.F.crossEntropy(model.call(x).out, target, { ignoreIndex: 255 }).backward();
      opt.step();
    });
} else {
  // eval mode, BatchNorm folded into the convs, the faster layout for this input
  layout = prepareForInference(model, input, { layout: forced }).layout;
  const x = layout === 'channels_last' ? input.contiguous('channels_last') : input;
  step = () => torch.inferenceMode(() => model.call(x).out.dispose());
}

const times = await timeSteps(step, flags.reps, flags.warmup, `segkit deeplabv3-${mode}`);
emitResult({ workload: `deeplabv3-${mode}`, runner: 'segkit', batch: flags.batch, threads: flags.threads, times, size: flags.size, layout, fused_bn: mode === 'infer' });
