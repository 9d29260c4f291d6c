// What the exporter promises besides numbers (parity.test.ts): an op without a mapping, a size
// the graph cannot follow, a forward that changes with the size and a value read into JavaScript
// fail with the op's name and the module that called it; the file passes ONNX's own checker (python3-onnx); metadata,
// state-dict initializer names and symbolic input/output dims are in the file; the model's
// training mode is left as it was; writeOnnx writes atomically.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as torch from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, Module, ReLU, Sequential } from '../../src/nn/index.js';
import { create } from '../../src/models/index.js';
import { decodeModel, exportOnnx, readOnnxMetadata, writeOnnx } from '../../src/export/index.js';
import { checkLeaksEachTest } from '../leak.js';

checkLeaksEachTest();

class ErfInv extends Module {
  override forward(x: torch.Tensor): torch.Tensor {
    return torch.callOp('erfinv', x);
  }
}

/** Pads the right edge to an even width without telling the exporter how (no padToMultiple hint). */
class PadEven extends Module {
  override forward(x: torch.Tensor): torch.Tensor {
    return torch.F.pad(x, [0, x.shape[3] % 2, 0, 0]);
  }
}

/** Takes another path at widths above 70. */
class SizeBranch extends Module {
  override forward(x: torch.Tensor): torch.Tensor {
    return x.shape[3] > 70 ? x.relu() : x.sigmoid();
  }
}

/** Scales by a number read out of the input: a value the graph would freeze. */
class ReadsMean extends Module {
  override forward(x: torch.Tensor): torch.Tensor {
    return x.mul(x.mean().item() > 0 ? 2 : 3);
  }
}

/** ReLU in place on a view, then uses the viewed tensor: PyTorch sees the change, a graph would not. */
class InplaceOnView extends Module {
  override forward(x: torch.Tensor): torch.Tensor {
    const y = x.mul(1);
    y.narrow(1, 0, 1).clamp_(0);
    return y.add(1);
  }
}

const tiny = (last: Module): Sequential => new Sequential(new Conv2d(3, 4, 3, { padding: 1 }), new BatchNorm2d(4), new ReLU(), new Sequential(new Conv2d(4, 2, 1), last));

test('an op without an ONNX mapping fails with its name and the module path that called it', () => {
  const model = tiny(new ErfInv());
  try {
    assert.throws(() => exportOnnx(model, { inputShape: [1, 3, 16, 16] }), (e: Error) => {
      assert.match(e.message, /aten::erfinv/);
      assert.match(e.message, /'3\.1' \(ErfInv\)/);
      assert.match(e.message, /no ONNX mapping/);
      return true;
    });
  } finally {
    model.dispose();
  }
});

test('an argument that follows the input size in a way the graph cannot express fails the export', () => {
  const model = tiny(new PadEven());
  try {
    assert.throws(() => exportOnnx(model, { inputShape: [1, 3, 16, 16] }), /aten::constant_pad_nd called in '3\.1' \(PadEven\).*depends on the input size/);
    // with fixed sizes there is nothing to follow
    const bytes = exportOnnx(model, { inputShape: [1, 3, 16, 15], dynamicAxes: false });
    assert.deepEqual(decodeModel(bytes).graph.input[0].type.tensor_type.shape.dim, [{ dim_value: 1 }, { dim_value: 3 }, { dim_value: 16 }, { dim_value: 15 }]);
  } finally {
    model.dispose();
  }
});

test('a forward that runs other ops at other sizes fails the export and names the op', () => {
  const model = tiny(new SizeBranch());
  try {
    assert.throws(() => exportOnnx(model, { inputShape: [1, 3, 64, 64] }), /different ops at different input sizes.*aten::sigmoid in '3\.1' \(SizeBranch\) vs aten::relu/);
  } finally {
    model.dispose();
  }
});

test('reading a computed tensor into JavaScript (item()) fails the export and names the module', () => {
  const model = tiny(new ReadsMean());
  try {
    assert.throws(() => exportOnnx(model, { inputShape: [1, 3, 8, 8] }), /item\(\) in '3\.1' \(ReadsMean\) reads values computed from the input/);
  } finally {
    model.dispose();
  }
});

test('an in-place op through a view, with the viewed tensor used after, fails the export', () => {
  const model = tiny(new InplaceOnView());
  try {
    assert.throws(() => exportOnnx(model, { inputShape: [1, 3, 8, 8] }), /aten::add\.Scalar in '3\.1' \(InplaceOnView\) uses a tensor that aten::clamp_ in '3\.1' \(InplaceOnView\) changed in place through a view/);
  } finally {
    model.dispose();
  }
});

test('the file: state-dict initializer names, symbolic dims, metadata, opset 17, training mode kept', () => {
  torch.manualSeed(0);
  const model = create('unet', { numClasses: 2, baseWidth: 4, depth: 2 });
  try {
    model.train();
    const bytes = exportOnnx(model, { metadata: { 'segkit.classes': ['background', 'cat'], note: 'hello' } });
    assert.equal(model.training, true, 'training mode restored');
    assert.ok(model.modules().every((m) => m.training));
    const m = decodeModel(bytes);
    assert.deepEqual(m.opset_import, [{ domain: '', version: 17 }]);
    assert.equal(m.producer_name, 'segkit');
    const inits = new Set(m.graph.initializer.map((t) => t.name));
    for (const [name] of model.namedParameters()) assert.ok(inits.has(name), `initializer ${name}`);
    assert.ok(inits.has('enc1.block.1.running_mean'));
    assert.ok(!inits.has('enc1.block.1.num_batches_tracked'), 'unused buffers are left out');
    const dims = (v: (typeof m.graph.input)[number]) => v.type.tensor_type.shape.dim.map((d) => ('dim_param' in d ? d.dim_param : d.dim_value));
    assert.deepEqual(dims(m.graph.input[0]), ['batch', 3, 'height', 'width']);
    assert.deepEqual(dims(m.graph.output[0]), ['batch', 2, 'height', 'width']);
    const meta = Object.fromEntries(m.metadata_props.map((e) => [e.key, e.value]));
    assert.deepEqual(JSON.parse(meta['segkit.classes']), ['background', 'cat']);
    assert.equal(meta.note, 'hello');
    assert.equal(meta['segkit.export'], '1');
    assert.throws(() => exportOnnx(model, { opset: 12 }), /opset must be 14 to 17, got 12/);
    const gray = create('unet', { numClasses: 2, baseWidth: 4, depth: 2, inChannels: 1 });
    try {
      const input = decodeModel(exportOnnx(gray)).graph.input[0];
      assert.deepEqual(dims(input), ['batch', 1, 'height', 'width'], 'the default input takes the first conv\'s channels');
    } finally {
      gray.dispose();
    }
    assert.throws(() => exportOnnx(model, { outputs: ['aux'] }), /no output 'aux' \(it returns out\)/);
  } finally {
    model.dispose();
  }
});

test("the aux head is in the graph only when asked for ('out' alone leaves its nodes and weights out)", async () => {
  const model = create('deeplabv3_mobilenet_v3_large', { numClasses: 2, auxLoss: true });
  try {
    const names = (outputs: string[]) => {
      const m = decodeModel(exportOnnx(model, { inputShape: [1, 3, 32, 32], outputs }));
      return { outputs: m.graph.output.map((o) => o.name), aux: m.graph.initializer.filter((t) => t.name.startsWith('aux_classifier.')).length };
    };
    assert.deepEqual(names(['out']), { outputs: ['out'], aux: 0 });
    const both = names(['out', 'aux']);
    assert.deepEqual(both.outputs, ['out', 'aux']);
    assert.ok(both.aux > 0);
  } finally {
    model.dispose();
  }
});

const hasOnnx = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;

test('ONNX checker (python3-onnx) accepts the file, with full shape inference', { skip: hasOnnx ? false : 'python3-onnx is not installed (apt-get install python3-onnx); ONNX checker not run' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-export-'));
  const models = [create('unet', { numClasses: 2, baseWidth: 4, depth: 2 }), create('lraspp_mobilenet_v3_large', { numClasses: 2 }), create('deeplabv3plus_mobilenet_v2', { numClasses: 2 })];
  try {
    for (const [i, model] of models.entries()) {
      const file = join(dir, `m${i}.onnx`);
      const size = await writeOnnx(model, file, { metadata: { i } });
      assert.equal(readFileSync(file).byteLength, size);
      assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
      assert.equal((await readOnnxMetadata(file)).i, String(i));
      const r = spawnSync('/usr/bin/python3', ['-c', 'import onnx, sys; onnx.checker.check_model(sys.argv[1], full_check=True); print("ok")', file], { encoding: 'utf8' });
      assert.equal(r.status, 0, `onnx.checker on ${model.constructor.name}: ${r.stderr}`);
      assert.equal(r.stdout.trim(), 'ok');
    }
  } finally {
    for (const m of models) m.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.ok(!existsSync(dir));
});
