// segkit's runner for unet-infer-ort and deeplabv3-infer-ort: the ONNX Runtime backend that
// `segkit predict --backend ort` uses (src/ort: a libtorch tensor in, the session run, a logits
// tensor out), on the same .onnx file and input the 'ort' peer (harness/ort_unet.ts) runs through
// onnxruntime-node alone. The difference between the two is what segkit adds around the session.
//   node dist/bench/segkit/ort.js --onnx .cache/bench/unet.onnx --workload unet-infer-ort --batch 8 --size 256
import { existsSync } from 'node:fs';
import * as torch from '../../src/torch/index.js';
import { openOnnx } from '../../src/ort/session.js';
import { emitResult, parseRunnerFlags, randomFloats, timeSteps } from '../harness/protocol.js';

const flags = parseRunnerFlags(process.argv.slice(2), { batch: 8, size: 256 }, ['onnx', 'workload']);
const onnxPath = flags.rest.onnx ?? '.cache/bench/unet.onnx';
const workload = flags.rest.workload ?? 'unet-infer-ort';
if (!existsSync(onnxPath)) throw new Error(`ONNX model not found: ${onnxPath}; export it with /usr/bin/python3 bench/peers/export_onnx.py --out ${onnxPath}`);
torch.setNumThreads(flags.threads);
const { batch, size } = flags;
const onnx = await openOnnx(onnxPath, { threads: flags.threads });
// the peer's input values, as a libtorch tensor
const x = torch.tensor(randomFloats(batch * 3 * size * size), { shape: [batch, 3, size, size] });
const step = async (): Promise<void> => (await onnx.forward(x)).dispose();
const times = await timeSteps(step, flags.reps, flags.warmup, `segkit ort ${workload}`);
emitResult({ workload, runner: 'segkit', batch, threads: flags.threads, times, size, onnx: onnxPath });
x.dispose();
await onnx.release();
