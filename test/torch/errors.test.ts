// Mistakes become JS Errors that name the op and say what is wrong, without C++ backtraces;
// a seeded fuzz run (in a child process, so a crash is reported) checks survival and memory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { F, callOp, cat, memory, ones, randn, tensor, tidy, zeros, type DType } from '../../src/torch/index.js';
import { withNoLeaks } from '../leak.js';

/** The call throws an Error whose message matches and carries no C++ backtrace. */
function fails(fn: () => unknown, pattern: RegExp): void {
  assert.throws(() => tidy(() => { fn(); }), (e: unknown) => {
    assert.ok(e instanceof Error, `not an Error: ${String(e)}`);
    assert.match(e.message, pattern);
    assert.doesNotMatch(e.message, /frame #\d|Exception raised from|registered at/, 'no backtrace or dispatch-key list');
    return true;
  });
}

test('reading a tensor without storage (sparse) throws instead of ending the process', withNoLeaks(() => tidy(() => {
  const sparse = callOp('to_sparse', tensor([[1, 0], [0, 2]]));
  fails(() => sparse.data(), /^toBytes: Cannot access data pointer of Tensor that doesn't have storage/);
  fails(() => sparse.dataView(), /^dataView: Cannot access data pointer of Tensor that doesn't have storage/);
})));

test('shape mistakes name the op', withNoLeaks(() => tidy(() => {
  const a = ones([2, 3]);
  fails(() => a.matmul(a), /^aten::matmul: mat1 and mat2 shapes cannot be multiplied \(2x3 and 2x3\)/);
  fails(() => F.conv2d(ones([1, 2, 8, 8]), ones([4, 3, 3, 3])), /^aten::conv2d: .*expected input\[1, 2, 8, 8\] to have 3 channels, but got 2/);
  fails(() => a.add(ones([4])), /^aten::add\.Tensor: The size of tensor a \(3\) must match the size of tensor b \(4\)/);
  fails(() => a.view(4), /^aten::view: shape '\[4\]' is invalid for input of size 6/);
  fails(() => cat([a, ones([2, 2])], 0), /^aten::cat: Sizes of tensors must match except in dimension 0/);
  fails(() => a.item(), /^item: needs a tensor with exactly one element, got shape \[2, 3\]/);
  fails(() => F.maxPool2d(ones([1, 1, 2, 2]), 3), /^aten::max_pool2d: .*Output size is too small/);
  fails(() => F.pad(ones([1, 1, 2, 2]), [1, 2], 'reflect'), /^aten::reflection_pad2d: argument 'padding' .*expects 4 integers/);
})));

test('dtype mistakes name the op', withNoLeaks(() => tidy(() => {
  const f = ones([2, 2]);
  fails(() => f.mm(ones([2, 2], { dtype: 'int64' })), /^aten::mm: expected scalar type Float but found Long/);
  fails(() => ones([3]).gather(0, zeros([1], { dtype: 'int32' })), /^aten::gather: gather\(\): Expected dtype int64 for index/);
  fails(() => F.crossEntropy(ones([2, 3]), ones([2])), /^aten::cross_entropy_loss: expected scalar type Long but found Float/);
  fails(() => f.to('complex64' as DType), /^aten::to\.dtype_layout: argument 'dtype' .*unknown dtype 'complex64'/);
  fails(() => f.contiguous('nhwc' as 'contiguous'), /^aten::contiguous: argument 'memory_format' .*unknown memory format 'nhwc'/);
  fails(() => tensor([1, 2], { dtype: 'int64' }).requiresGrad_(), /^requiresGrad: Only Tensors of floating point/);
})));

test('device mistakes name the op', withNoLeaks(() => tidy(() => {
  fails(() => ones([2]).to('cuda'), /^aten::to\.dtype_layout: .*cuda/i);
  fails(() => zeros([2], { device: 'cuda' }), /^aten::zeros: Could not run 'aten::empty\.memory_format' with arguments from the 'CUDA' backend/);
  fails(() => zeros([2], { device: 'tpu' }), /^aten::zeros: argument 'device' .*unknown device 'tpu'/);
  fails(() => zeros([2], { device: 'meta' }).add(ones([2])), /^aten::add\.Tensor: Expected all tensors to be on the same device/);
  fails(() => zeros([2], { device: 'meta' }).toArray(), /^toBytes: Cannot copy out of meta tensor/);
})));

test('argument mistakes say which argument and what it wants', withNoLeaks(() => tidy(() => {
  const t = ones([2, 3]);
  fails(() => callOp('sum.dim_IntList', t, ['a']), /^aten::sum\.dim_IntList: argument 'dim' .*expects an integer, got a string/);
  fails(() => callOp('sum.dim_IntList', t, [NaN]), /^aten::sum\.dim_IntList: argument 'dim' .*expects an integer, got nan/);
  fails(() => callOp('sum.dim_IntList', t, [1.5]), /expects an integer, got 1\.5/);
  fails(() => callOp('add.Tensor', t), /^aten::add\.Tensor: argument 'other' \(Tensor\) is required/);
  fails(() => callOp('relu', t, 1, 2), /^aten::relu: takes 1 arguments, got 3/);
  fails(() => callOp('relu', 5), /^aten::relu: argument 'self': expected a tensor, got the number 5/);
  fails(() => callOp('relu', 'x'), /^aten::relu: argument 'self': expected a tensor/);
  fails(() => t.oneHot(t as unknown as number), /^aten::one_hot: argument 'num_classes' takes no tensor, got a Tensor/);
  fails(() => zeros([t as unknown as number]), /^aten::zeros: argument 'size' takes no tensor/);
  fails(() => callOp('softmax.int', t, true), /^aten::softmax\.int: argument 'dim' .*expects an integer/);
  fails(() => callOp('no_such_op'), /^unknown op aten::no_such_op \(no such schema in the linked libtorch\)/);
})));

test('impossible sizes fail cleanly instead of crashing', withNoLeaks(() => {
  const before = memory().bytes;
  fails(() => zeros([1e12]), /^aten::zeros: .*can't allocate memory: you tried to allocate 4000000000000 bytes/);
  fails(() => zeros([2 ** 32, 2 ** 32, 2 ** 32]), /^aten::zeros: Storage size calculation overflowed/);
  fails(() => zeros([-1]), /^aten::zeros: Trying to create tensor with negative dimension -1/);
  fails(() => zeros([Infinity]), /^aten::zeros: argument 'size' .*expects an integer, got inf/);
  fails(() => tensor(new Float32Array(0), { shape: [2 ** 32, 2 ** 32] }), /^fromBytes: shape \[4294967296, 4294967296\] is too large/);
  fails(() => ones([4]).repeat(1e9, 1e9), /^aten::repeat: Storage size calculation overflowed/);
  fails(() => F.interpolate(ones([1, 1, 2, 2]), { size: [1e6, 1e6] }), /^aten::upsample_nearest2d\.vec: .*can't allocate memory/);
  assert.equal(memory().bytes, before);
}));

test('errors inside tidy free what the scope made', withNoLeaks(() => {
  const before = memory().tensors;
  assert.throws(() => tidy(() => randn([3, 3]).matmul(randn([2, 2]))), /aten::matmul/);
  assert.equal(memory().tensors, before);
}));

test('fuzz: thousands of random wrong calls at ~50 ops: no crash, only Errors, memory flat', () => {
  const dir = mkdtempSync(join(tmpdir(), 'segkit-fuzz-'));
  const trace = join(dir, 'trace.txt');
  try {
    const seed = 20261122;
    const calls = 3000;
    const child = join(dirname(fileURLToPath(import.meta.url)), 'fuzz-child.js');
    const r = spawnSync(process.execPath, [child, String(seed), String(calls), trace], { encoding: 'utf8', timeout: 45_000 });
    const lastCall = () => readFileSync(trace, 'utf8').trim().split('\n').pop();
    assert.ok(r.status === 0 && r.signal === null,
      `the fuzz child died (status ${r.status}, signal ${r.signal}) during: ${lastCall()}\n${r.stderr.slice(-2000)}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop()!) as { calls: number; threw: number; ok: number; asyncBatches: number; leaked: number; badErrors: string[] };
    assert.ok(report.calls >= calls);
    assert.ok(report.threw > calls / 2, `most calls are wrong and must throw (${report.threw})`);
    assert.ok(report.ok > 50, `some calls are right and must run (${report.ok})`);
    assert.ok(report.asyncBatches > 20, 'some calls ran on the compute thread');
    assert.deepEqual(report.badErrors, [], 'every failure is an Error with a clean message');
    assert.equal(report.leaked, 0, 'memory().tensors is back where it started');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
