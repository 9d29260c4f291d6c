// src/io/pickle.ts and pickle-policy.ts: the unpickler that never runs code, its inert records
// and the globals it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fixture } from '../paths.js';
import { checkLeaksEachTest } from '../leak.js';
import { PyRecord, PyRef, isTuple, unpickle } from '../../src/io/pickle.js';
import { refusalReason } from '../../src/io/pickle-policy.js';

checkLeaksEachTest();

const expected = JSON.parse(readFileSync(fixture('io', 'expected.json'), 'utf8')) as {
  marker: string;
  pickle: Record<string, unknown>;
  records: Record<string, unknown>;
  malicious: Record<string, string>;
};

/** The same tagged JSON form gen_io.py writes for the Python value. */
function tag(v: unknown): unknown {
  if (v === null || typeof v === 'boolean' || typeof v === 'string') return v;
  if (typeof v === 'bigint') return { $bigint: v.toString() };
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return { $float: 'nan' };
    if (!Number.isFinite(v)) return { $float: v > 0 ? 'inf' : '-inf' };
    return Object.is(v, -0) ? { $negzero: true } : v;
  }
  if (v instanceof Uint8Array) return { $bytes: Buffer.from(v).toString('hex') };
  if (isTuple(v)) return { $tuple: v.map(tag) };
  if (Array.isArray(v)) return v.map(tag);
  if (v instanceof Map) return { $dict: [...v].map(([k, x]) => [tag(k), tag(x)]) };
  if (v instanceof Set) return { $set: [...v].map(tag) };
  if (v instanceof PyRecord) {
    return {
      $record: v.className,
      args: tag(v.args),
      kwargs: v.kwargs === null ? null : tag(v.kwargs),
      state: v.state === undefined ? null : tag(v.state),
      list: v.listItems.map(tag),
      dict: [...v.dictItems].map(([k, x]) => [tag(k), tag(x)]),
    };
  }
  // a global named as a value: an inert PyRef, or one of the constructors segkit implements
  if (typeof v === 'object' && 'module' in v && 'name' in v) return { $global: `${String(v.module)}.${String(v.name)}` };
  throw new Error(`untaggable value ${String(v)}`);
}

test('unpickles every value kind exactly, protocols 2 to 5', () => {
  for (const [name, want] of Object.entries(expected.pickle)) {
    const bytes = readFileSync(fixture('io', 'pickle', name));
    const { value, end } = unpickle(bytes, { source: name });
    assert.equal(end, bytes.byteLength, name);
    assert.deepEqual(tag(value), want, name);
    // Memoized objects come back as one object, as in Python.
    const shared = (value as Map<string, unknown[]>).get('shared')!;
    assert.equal(shared[0], shared[1], name);
  }
});

test('refuses pickles that would run code, and runs nothing', () => {
  rmSync(expected.marker, { force: true });
  for (const [name, wants] of Object.entries(expected.malicious)) {
    if (!name.startsWith('pickle/')) continue;
    const path = fixture('io', ...name.split('/'));
    assert.throws(
      () => unpickle(readFileSync(path), { source: path }),
      (err: Error) =>
        err.message.includes(path) &&
        err.message.includes(wants) &&
        err.message.includes('wants to run code') &&
        err.message.includes('does not execute pickles'),
      name,
    );
  }
  assert.equal(existsSync(expected.marker), false);
});

test('names the byte offset of an unknown or unsupported opcode', () => {
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0xff]), { source: 'x.pkl' }), /x\.pkl.*byte 2.*unknown pickle opcode 0xff/);
  // OBJ (protocol 1) is known but never interpreted.
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x28, 0x6f])), /byte 3.*unsupported pickle opcode OBJ/);
});

test('reports truncated and malformed pickles', () => {
  const bytes = readFileSync(fixture('io', 'pickle', 'values_p4.pkl'));
  assert.throws(() => unpickle(bytes.subarray(0, bytes.length - 40)), /ends/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x30, 0x2e])), /stack underflow/); // POP on empty stack
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x68, 0x07, 0x2e])), /memo entry 7/); // BINGET 7
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4e, 0x51, 0x2e])), /persistent id without a loader/); // NONE BINPERSID
});

test('reads objects of unknown classes as inert records, as Python pickled them', () => {
  for (const [name, want] of Object.entries(expected.records)) {
    const bytes = readFileSync(fixture('io', 'pickle', name));
    const { value, end } = unpickle(bytes, { source: name });
    assert.equal(end, bytes.byteLength, name);
    assert.deepEqual(tag(value), want, name);
    const slotted = (value as Map<string, PyRecord>).get('slotted')!;
    assert.deepEqual([...slotted.attributes()], [['a', 1], ['b', 'two']], `${name}: attributes merge the (dict, slots) state`);
  }
});

test('unknown globals become inert records; the caller allowlist comes first', () => {
  // GLOBAL 'my.mod Thing', EMPTY_TUPLE, REDUCE, STOP
  const bytes = Uint8Array.from([0x80, 0x02, ...Buffer.from('cmy.mod\nThing\n'), 0x29, 0x52, 0x2e]);
  const record = unpickle(bytes).value;
  assert.ok(record instanceof PyRecord);
  assert.deepEqual([record.type, record.args, record.state], [new PyRef('my.mod', 'Thing'), [], undefined]);
  const value = unpickle(bytes, { globals: (m, n) => (m === 'my.mod' && n === 'Thing' ? { module: m, name: n, call: () => 42 } : undefined) });
  assert.equal(value.value, 42);
  // The allowlist cannot re-enable a refused global.
  const evil = Uint8Array.from([0x80, 0x02, ...Buffer.from('cos\nsystem\n'), 0x29, 0x52, 0x2e]);
  assert.throws(() => unpickle(evil, { globals: (m, n) => ({ module: m, name: n, call: () => 0 }) }), /os\.system/);
});

test('refuses to call what another call returned', () => {
  // functools.partial(collections.OrderedDict) is harmless, but calling its result is how exploits chain calls.
  const bytes = Uint8Array.from([
    0x80, 0x02, ...Buffer.from('cfunctools\npartial\ncollections\nOrderedDict\n'), 0x85, 0x52, // partial(OrderedDict)
    0x29, 0x52, 0x2e, // (...)()
  ]);
  assert.throws(() => unpickle(bytes, { source: 'chain.pkl' }), /chain\.pkl: refusing to load.*REDUCE calls a functools\.partial object, an object another call returned/);
});

test('BUILD, SETITEMS and APPENDS fill a record; other targets stay errors', () => {
  // GLOBAL m.C, EMPTY_TUPLE, NEWOBJ; BUILD {'a': 1}; BUILD {'b': 2}; STOP: later state updates the attributes
  const su = (t: string): number[] => [0x8c, t.length, ...Buffer.from(t)];
  const bytes = Uint8Array.from([0x80, 0x04, ...su('m'), ...su('C'), 0x93, 0x29, 0x81, 0x7d, ...su('a'), 0x4b, 1, 0x73, 0x62, 0x7d, ...su('b'), 0x4b, 2, 0x73, 0x62, 0x2e]);
  const r = unpickle(bytes).value as PyRecord;
  assert.deepEqual([...r.attributes()], [['a', 1], ['b', 2]]);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 1, 0x4b, 2, 0x62, 0x2e])), /BUILD \(set object state\) on a number/);
  assert.throws(() => unpickle(Uint8Array.from([0x80, 0x02, 0x4b, 1, 0x4b, 2, 0x4b, 3, 0x73, 0x2e])), /SETITEM on a number, not a dict/);
});

test('refuses the globals that can do harm, and only those', () => {
  const refused: [string, string][] = [
    ['os', 'system'], ['posix', 'system'], ['nt', 'system'], ['os', 'execv'], ['subprocess', 'Popen'], ['subprocess', 'check_output'],
    ['builtins', 'eval'], ['builtins', 'exec'], ['builtins', 'compile'], ['builtins', 'getattr'], ['builtins', 'setattr'],
    ['builtins', 'delattr'], ['builtins', '__import__'], ['builtins', 'open'], ['builtins', 'globals'], ['builtins', 'locals'],
    ['builtins', 'vars'], ['builtins', 'breakpoint'], ['builtins', 'input'], ['builtins', 'print'], ['builtins', 'type'],
    ['importlib', 'import_module'], ['importlib.util', 'spec_from_file_location'], ['runpy', '_run_code'], ['pickle', 'loads'],
    ['_pickle', 'loads'], ['marshal', 'loads'], ['shutil', 'rmtree'], ['socket', 'create_connection'], ['sys', 'modules'],
    ['code', 'InteractiveInterpreter.runcode'], ['pty', 'spawn'], ['webbrowser', 'open'], ['ctypes', 'CDLL'],
    ['operator', 'attrgetter'], ['operator', 'methodcaller'], ['pydoc', 'locate'], ['types', 'FunctionType'],
    ['torch', 'load'], ['torch.serialization', 'load'], ['torch.hub', 'load'], ['torch.storage', '_load_from_bytes'],
    ['torch.fx.graph_module', 'reduce_graph_module'], ['numpy', 'load'], ['numpy.testing._private.utils', 'runstring'],
    ['logging.config', 'listen'], ['uuid', '_get_command_stdout'],
    // reaching a denied function through an allowed module (protocol 4 dotted names) or the interpreter's internals
    ['torch', 'os.system'], ['torch.serialization', 'pickle.loads'], ['collections', 'OrderedDict.__init__.__globals__'],
    ['torch', '__builtins__'], ['argparse', 'builtins.eval'],
  ];
  for (const [m, n] of refused) assert.notEqual(refusalReason(m, n), undefined, `${m}.${n} must be refused`);
  const inert: [string, string][] = [
    ['collections', 'OrderedDict'], ['builtins', 'set'], ['builtins', 'int'], ['builtins', 'ValueError'], ['builtins', 'slice'],
    ['functools', 'partial'], ['argparse', 'Namespace'], ['types', 'SimpleNamespace'], ['copyreg', '__newobj__'],
    ['copyreg', '_reconstructor'], ['__main__', 'Net'], ['pathlib', 'PosixPath'], ['logging', 'getLogger'], ['uuid', 'UUID'],
    ['torch.nn.modules.conv', 'Conv2d'], ['torchvision.models.resnet', 'BasicBlock'], ['torch._utils', '_rebuild_tensor_v2'],
    ['torch._C._nn', 'gelu'], ['torch.nn.functional', 'relu'], ['numpy.core.multiarray', '_reconstruct'], ['numpy', 'dtype'],
    ['mypkg.code.models', 'Net'], ['torchvision.ops.misc', 'SqueezeExcitation'], ['torch', 'Size'],
  ];
  for (const [m, n] of inert) assert.equal(refusalReason(m, n), undefined, `${m}.${n} must be read as an inert record`);
});
