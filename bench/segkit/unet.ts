// segkit's runner for unet-train and unet-infer (bench/README.md's protocol): the UNet of
// BENCH.md, a batch of random images, in the layout (NCHW or channels-last) segkit's chooser picks
// on this machine, as a user's run would get it; `--layout nchw|channels_last` forces one.
import * as torch from '../../src/torch/index.js';
import { UNet } from '../../src/models/unet.js';
import { AdamW } from '../../src/optim/index.js';
import { prepareForInference, prepareForTraining, type Layout } from '../../src/nn/index.js';
import { emitResult, parseRunnerFlags, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 8, size: 256 }, ['layout']);
const mode = flags.mode ?? 'train';
if (mode !== 'train' && mode !== 'infer') throw new Error(`--mode must be train or infer, got "${mode}"`);
const forced = flags.rest.layout as Layout | undefined;
if (forced !== undefined && forced !== 'nchw' && forced !== 'channels_last') throw new Error(`--layout must be nchw or channels_last, got "${forced}"`);
torch.setNumThreads(flags.threads);
torch.manualSeed(0);

const model = new UNet({ inChannels: 3, numClasses: 4, baseWidth: 32, depth: 4 });
const input = torch.randn([flags.batch, 3, flags.size, flags.size]);
const target = torch.randint(0, 4, [flags.batch, flags.size, flags.size]);

let step: () => void;
let layout: Layout;
if (mode === 'train') {
  layout = prepareForTraining(model, input, { layout: forced }).layout;
  const x = layout === 'channels_last' ? input.contiguous('channels_last') : input;
  const opt = new AdamW(model.parameters(), { lr: 1e-3 });
  step = () => {
    torch.tidy(() => {
      opt.zeroGrad();
      const loss = torch.F.crossEntropy(model.call(x).out, target);
      loss.backward();
      opt.step();
    });
  };
} else {
  // eval mode, each BatchNorm folded into its conv (exact in eval mode), the faster layout
  layout = prepareForInference(model, input, { layout: forced }).layout;
  const x = layout === 'channels_last' ? input.contiguous('channels_last') : input;
  step = () => torch.inferenceMode(() => model.call(x).out.dispose());
}

const times = await timeSteps(step, flags.reps, flags.warmup, `segkit unet-${mode}`);
emitResult({ workload: `unet-${mode}`, runner: 'segkit', batch: flags.batch, threads: flags.threads, times, size: flags.size, layout, fused_bn: mode === 'infer' });
