// A restricted unpickler for protocols 2-5 that never executes code.
//
// Python's pickle is a small stack machine whose GLOBAL/REDUCE opcodes import and call any
// function: loading a pickle can run `os.system`. This one interprets the opcodes a PyTorch
// checkpoint uses and calls nothing of Python's. A global resolves to one of three things:
//  - a constructor implemented here in TypeScript (OrderedDict, set, bytes, ...) or by the
//    caller (see `globals`; pth.ts implements torch's tensor rebuilders);
//  - a refusal, for the globals that only an attack names (os.system, eval, getattr, ...; the
//    rule is in pickle-policy.ts): the whole file is refused;
//  - otherwise an inert PyRef (module and name, nothing more). NEWOBJ/REDUCE on a PyRef give a
//    PyRecord holding the constructor arguments; BUILD, SETITEM(S) and APPEND(S) on it store
//    the state and items as pickle gives them. A torch.save(model) file thus becomes a tree of
//    records of its module classes, from which pickled-module.ts reads the tensors.
// Calling what another call returned (REDUCE on a record) is refused too: Python would call
// that object, which is how exploits chain gadgets such as getattr(module, 'system')(...).
//
// Python values become: None → null, bool → boolean, int → number (bigint beyond 2^53),
// float → number, str → string, bytes/bytearray → Uint8Array, list → array,
// tuple → frozen array (see isTuple), dict/OrderedDict → Map, set/frozenset → Set,
// any other object → PyRecord.

import { refusalReason } from './pickle-policy.js';

/** A Python global that the unpickler may resolve: always our own implementation. */
export interface PyGlobal {
  readonly module: string;
  readonly name: string;
  /** Builds a value for REDUCE / NEWOBJ. Absent on markers that are only passed around (dtypes, storage types). */
  readonly call?: (args: readonly unknown[]) => unknown;
}

/** Returns the implementation of `module.name`, or undefined to refuse it. */
export type GlobalResolver = (module: string, name: string) => PyGlobal | undefined;

export interface UnpickleOptions {
  /** Names the file in errors. */
  source?: string;
  /** Byte offset where the pickle starts (files may hold several pickles back to back). */
  start?: number;
  /** An extra allowlist, asked before the built-in one. */
  globals?: GlobalResolver;
  /** Resolves BINPERSID ids (torch uses them for tensor storages). */
  persistentLoad?: (pid: unknown) => unknown;
}

export interface Unpickled {
  value: unknown;
  /** Offset just past the STOP opcode. */
  end: number;
}

export function unpickle(bytes: Uint8Array, options: UnpickleOptions = {}): Unpickled {
  const machine = new Unpickler(bytes, options);
  const value = machine.run();
  return { value, end: machine.pos };
}

/**
 * A Python class or function named by the pickle that segkit does not implement: only its
 * name. Calling it (NEWOBJ/REDUCE) makes a PyRecord; nothing is imported or run.
 */
export class PyRef implements PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  toString(): string {
    return `${this.module}.${this.name}`;
  }
}

/**
 * What Python would have built by calling `type` (a class, or a function for REDUCE) with
 * `args`: an inert record of the data, for the reader to interpret (e.g. an nn.Module's
 * `__dict__` in `state`). Nothing about it is ever executed.
 */
export class PyRecord {
  /** What BUILD gave (Python's __setstate__ argument): usually the object's __dict__ as a Map. */
  state: unknown = undefined;
  /** Items APPEND/APPENDS added (a list subclass). */
  readonly listItems: unknown[] = [];
  /** Items SETITEM/SETITEMS added (a dict subclass), in order. */
  readonly dictItems = new Map<unknown, unknown>();

  constructor(
    readonly type: PyRef,
    readonly args: readonly unknown[],
    readonly kwargs: ReadonlyMap<unknown, unknown> | null = null,
  ) {}

  /** 'module.name' of the class or function. */
  get className(): string {
    return this.type.toString();
  }

  /**
   * The object's attributes: the BUILD state when it is a dict, or the dict half of a
   * (dict, slots) pair, merged with the slots; an empty Map when there is none.
   */
  attributes(): Map<unknown, unknown> {
    const s = this.state;
    if (s instanceof Map) return s;
    if (isTuple(s) && s.length === 2 && (s[0] === null || s[0] instanceof Map) && (s[1] === null || s[1] instanceof Map)) {
      return new Map([...((s[0] as Map<unknown, unknown> | null) ?? []), ...((s[1] as Map<unknown, unknown> | null) ?? [])]);
    }
    return new Map();
  }
}

/** Tuples are frozen arrays; lists are ordinary ones. */
export function isTuple(value: unknown): value is readonly unknown[] {
  return Array.isArray(value) && Object.isFrozen(value);
}

const builtStates = new WeakMap<object, unknown>();

/** The state a BUILD opcode gave an object (e.g. the `_metadata` of a state-dict OrderedDict). */
export function builtState(obj: object): unknown {
  return builtStates.get(obj);
}

// ---------------------------------------------------------------------------------------------
// The machine

class Unpickler {
  pos: number;
  /** Offset of the opcode being run, for error messages. */
  opStart: number;
  readonly stack: unknown[] = [];
  readonly marks: number[] = [];
  readonly memo = new Map<number, unknown>();
  private readonly view: DataView;
  private result: { value: unknown } | undefined;
  readonly source: string;

  constructor(
    readonly bytes: Uint8Array,
    private readonly options: UnpickleOptions,
  ) {
    this.source = options.source ?? '<buffer>';
    this.pos = this.opStart = options.start ?? 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  run(): unknown {
    while (this.result === undefined) {
      this.opStart = this.pos;
      if (this.pos >= this.bytes.byteLength) this.fail('the pickle ends without a STOP opcode (file truncated?)');
      const code = this.u8();
      const op = OPCODES.get(code);
      if (op === undefined) {
        const known = UNSUPPORTED.get(code);
        this.fail(known ? `unsupported pickle opcode ${known} (0x${hex(code)})` : `unknown pickle opcode 0x${hex(code)}`);
      }
      op.run(this);
    }
    return this.result.value;
  }

  fail(problem: string): never {
    throw new Error(`${this.source}: cannot unpickle (byte ${this.opStart}): ${problem}`);
  }

  stop(): void {
    this.result = { value: this.pop() };
  }

  // Reading arguments -------------------------------------------------------------------------

  take(n: number): Uint8Array {
    const left = this.bytes.byteLength - this.pos;
    if (n > left) this.fail(`the pickle ends early: needs ${n} bytes at byte ${this.pos}, ${left} left`);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  private at(n: number): number {
    this.take(n);
    return this.pos - n;
  }

  u8(): number {
    return this.view.getUint8(this.at(1));
  }

  u16(): number {
    return this.view.getUint16(this.at(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.at(4), true);
  }

  i32(): number {
    return this.view.getInt32(this.at(4), true);
  }

  /** BINFLOAT is big-endian. */
  f64(): number {
    return this.view.getFloat64(this.at(8), false);
  }

  u64(): number {
    const v = this.view.getBigUint64(this.at(8), true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail(`length ${v} is too large`);
    return Number(v);
  }

  /** A length that must be non-negative (LONG4 and BINSTRING carry signed ones). */
  length32(): number {
    const n = this.i32();
    if (n < 0) this.fail(`negative length ${n}`);
    return n;
  }

  /** A newline-terminated ASCII argument (GLOBAL's module and name). */
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0 || end - this.pos > 1000) this.fail('GLOBAL argument has no newline');
    const text = new TextDecoder().decode(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }

  // The stack ---------------------------------------------------------------------------------

  push(value: unknown): void {
    this.stack.push(value);
  }

  pop(): unknown {
    const value = this.top(); // checks for underflow past the last MARK
    this.stack.length -= 1;
    return value;
  }

  top(): unknown {
    const floor = this.marks.length > 0 ? this.marks[this.marks.length - 1] : 0;
    if (this.stack.length <= floor) this.fail('stack underflow (malformed pickle)');
    return this.stack[this.stack.length - 1];
  }

  /** Everything pushed since the last MARK, which is removed. */
  popMark(): unknown[] {
    const mark = this.marks.pop();
    if (mark === undefined) this.fail('no MARK to pop to (malformed pickle)');
    return this.stack.splice(mark);
  }

  memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} was never stored`);
    return this.memo.get(index);
  }

  // Objects -----------------------------------------------------------------------------------

  resolveGlobal(rawModule: string, name: string): PyGlobal {
    const module = PY2_MODULES.get(rawModule) ?? rawModule;
    const reason = refusalReason(module, name);
    if (reason !== undefined) this.refuse(`its pickle names ${module}.${name}, which ${reason}`);
    return this.options.globals?.(module, name) ?? BUILTIN_GLOBALS.get(`${module}.${name}`) ?? new PyRef(module, name);
  }

  refuse(what: string): never {
    throw new Error(
      `${this.source}: refusing to load: the file wants to run code while loading (${what}). ` +
        'segkit does not execute pickles: classes it does not know become inert records, but a file that reaches for this is an attack or broken, and Python would run it. ' +
        'If you trust the file, re-save its weights in Python with torch.save(model.state_dict(), path) or as safetensors.',
    );
  }

  call(fn: unknown, args: unknown, opcode: string, kwargs: Map<unknown, unknown> | null = null): unknown {
    if (fn instanceof PyRecord) {
      this.refuse(`${opcode} calls ${describe(fn)}, an object another call returned, the way exploits chain calls`);
    }
    if (!isPyGlobal(fn) || (fn.call === undefined && !(fn instanceof PyRef))) this.fail(`${opcode} on ${describe(fn)}, which cannot be called`);
    if (!Array.isArray(args)) this.fail(`${opcode} arguments for ${fn.module}.${fn.name} are ${describe(args)}, not a tuple`);
    if (fn instanceof PyRef) return new PyRecord(fn, args, kwargs);
    if (kwargs !== null && kwargs.size > 0) this.fail(`${opcode} with keyword arguments for ${fn.module}.${fn.name} is not supported`);
    try {
      return fn.call!(args);
    } catch (err) {
      return this.fail(`${fn.module}.${fn.name}: ${(err as Error).message}`);
    }
  }

  build(obj: unknown, state: unknown): void {
    // OrderedDict carries attributes (a state dict's `_metadata`); keep them on the side.
    if (obj instanceof Map) {
      builtStates.set(obj, state);
      return;
    }
    if (obj instanceof PyRecord) {
      // A second BUILD updates the attributes, as Python's default __setstate__ would.
      obj.state = obj.state instanceof Map && state instanceof Map ? new Map([...obj.state, ...state]) : state;
      return;
    }
    this.fail(`BUILD (set object state) on ${describe(obj)} is not supported`);
  }

  persistentLoad(pid: unknown): unknown {
    const load = this.options.persistentLoad;
    if (load === undefined) this.fail('persistent id without a loader (a torch pickle read outside its archive?)');
    try {
      return load(pid);
    } catch (err) {
      return this.fail((err as Error).message);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Opcodes, named as in CPython's pickletools

interface Opcode {
  name: string;
  run: (u: Unpickler) => void;
}

const OPCODES = new Map<number, Opcode>();
function op(code: string, name: string, run: (u: Unpickler) => void): void {
  OPCODES.set(code.charCodeAt(0), { name, run });
}

// Framing and control
op('\x80', 'PROTO', (u) => {
  const version = u.u8();
  if (version > 5) u.fail(`pickle protocol ${version} is newer than 5`);
});
op('\x95', 'FRAME', (u) => void u.u64()); // frames only help buffered readers
op('.', 'STOP', (u) => u.stop());
op('(', 'MARK', (u) => u.marks.push(u.stack.length));
op('0', 'POP', (u) => {
  // As in CPython, POP right after a MARK discards the mark.
  if (u.marks.length > 0 && u.marks[u.marks.length - 1] === u.stack.length) u.marks.pop();
  else u.pop();
});
op('1', 'POP_MARK', (u) => void u.popMark());
op('2', 'DUP', (u) => u.push(u.top()));

// Constants and numbers
op('N', 'NONE', (u) => u.push(null));
op('\x88', 'NEWTRUE', (u) => u.push(true));
op('\x89', 'NEWFALSE', (u) => u.push(false));
op('J', 'BININT', (u) => u.push(u.i32()));
op('K', 'BININT1', (u) => u.push(u.u8()));
op('M', 'BININT2', (u) => u.push(u.u16()));
op('\x8a', 'LONG1', (u) => u.push(decodeLong(u.take(u.u8()))));
op('\x8b', 'LONG4', (u) => u.push(decodeLong(u.take(u.length32()))));
op('G', 'BINFLOAT', (u) => u.push(u.f64()));

// Strings and bytes (copied, so values never alias the file buffer)
op('\x8c', 'SHORT_BINUNICODE', (u) => u.push(utf8(u.take(u.u8()))));
op('X', 'BINUNICODE', (u) => u.push(utf8(u.take(u.u32()))));
op('\x8d', 'BINUNICODE8', (u) => u.push(utf8(u.take(u.u64()))));
op('U', 'SHORT_BINSTRING', (u) => u.push(latin1(u.take(u.u8()))));
op('T', 'BINSTRING', (u) => u.push(latin1(u.take(u.length32()))));
op('C', 'SHORT_BINBYTES', (u) => u.push(u.take(u.u8()).slice()));
op('B', 'BINBYTES', (u) => u.push(u.take(u.u32()).slice()));
op('\x8e', 'BINBYTES8', (u) => u.push(u.take(u.u64()).slice()));
op('\x96', 'BYTEARRAY8', (u) => u.push(u.take(u.u64()).slice()));

// Containers
op('}', 'EMPTY_DICT', (u) => u.push(new Map()));
op('d', 'DICT', (u) => u.push(setItems(u, new Map(), u.popMark())));
op(']', 'EMPTY_LIST', (u) => u.push([]));
op('l', 'LIST', (u) => u.push(u.popMark()));
op(')', 'EMPTY_TUPLE', (u) => u.push(Object.freeze([])));
op('t', 'TUPLE', (u) => u.push(Object.freeze(u.popMark())));
op('\x85', 'TUPLE1', (u) => u.push(Object.freeze([u.pop()])));
op('\x86', 'TUPLE2', (u) => {
  const b = u.pop();
  u.push(Object.freeze([u.pop(), b]));
});
op('\x87', 'TUPLE3', (u) => {
  const c = u.pop();
  const b = u.pop();
  u.push(Object.freeze([u.pop(), b, c]));
});
op('\x8f', 'EMPTY_SET', (u) => u.push(new Set()));
op('\x91', 'FROZENSET', (u) => u.push(new Set(u.popMark())));
op('s', 'SETITEM', (u) => {
  const value = u.pop();
  const key = u.pop();
  setItems(u, u.top(), [key, value]);
});
op('u', 'SETITEMS', (u) => {
  const items = u.popMark();
  setItems(u, u.top(), items);
});
op('a', 'APPEND', (u) => {
  const item = u.pop();
  appendItems(u, u.top(), [item]);
});
op('e', 'APPENDS', (u) => {
  const items = u.popMark();
  appendItems(u, u.top(), items);
});
op('\x90', 'ADDITEMS', (u) => {
  const items = u.popMark();
  const set = u.top();
  if (!(set instanceof Set)) return u.fail(`ADDITEMS on ${describe(set)}, not a set`);
  for (const item of items) set.add(item);
});

// Memo
op('q', 'BINPUT', (u) => void u.memo.set(u.u8(), u.top()));
op('r', 'LONG_BINPUT', (u) => void u.memo.set(u.u32(), u.top()));
op('\x94', 'MEMOIZE', (u) => void u.memo.set(u.memo.size, u.top()));
op('h', 'BINGET', (u) => u.push(u.memoGet(u.u8())));
op('j', 'LONG_BINGET', (u) => u.push(u.memoGet(u.u32())));

// Objects: only through the allowlist
op('c', 'GLOBAL', (u) => {
  const module = u.line();
  const name = u.line();
  u.push(u.resolveGlobal(module, name));
});
op('\x93', 'STACK_GLOBAL', (u) => {
  const name = u.pop();
  const module = u.pop();
  if (typeof module !== 'string' || typeof name !== 'string') return u.fail('STACK_GLOBAL needs two strings');
  u.push(u.resolveGlobal(module, name));
});
op('R', 'REDUCE', (u) => {
  const args = u.pop();
  const fn = u.pop();
  u.push(u.call(fn, args, 'REDUCE'));
});
op('\x81', 'NEWOBJ', (u) => {
  const args = u.pop();
  const cls = u.pop();
  u.push(u.call(cls, args, 'NEWOBJ'));
});
op('\x92', 'NEWOBJ_EX', (u) => {
  const kwargs = u.pop();
  const args = u.pop();
  const cls = u.pop();
  if (!(kwargs instanceof Map)) return u.fail(`NEWOBJ_EX keyword arguments are ${describe(kwargs)}, not a dict`);
  u.push(u.call(cls, args, 'NEWOBJ_EX', kwargs));
});
op('b', 'BUILD', (u) => {
  const state = u.pop();
  u.build(u.top(), state);
});
op('Q', 'BINPERSID', (u) => u.push(u.persistentLoad(u.pop())));

/** Opcodes we know but do not run: protocol 0/1 text forms, extension registry, out-of-band buffers. */
const UNSUPPORTED = new Map<number, string>(
  (
    [
      ['I', 'INT'], ['L', 'LONG'], ['F', 'FLOAT'], ['S', 'STRING'], ['V', 'UNICODE'], ['P', 'PERSID'],
      ['p', 'PUT'], ['g', 'GET'], ['i', 'INST'], ['o', 'OBJ'], ['\x82', 'EXT1'], ['\x83', 'EXT2'],
      ['\x84', 'EXT4'], ['\x97', 'NEXT_BUFFER'], ['\x98', 'READONLY_BUFFER'],
    ] as const
  ).map(([c, n]) => [c.charCodeAt(0), n]),
);

function setItems(u: Unpickler, target: unknown, items: unknown[]): Map<unknown, unknown> {
  const dict = target instanceof PyRecord ? target.dictItems : target;
  if (!(dict instanceof Map)) u.fail(`SETITEM on ${describe(dict)}, not a dict`);
  if (items.length % 2 !== 0) u.fail('odd number of items for a dict');
  for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
  return dict;
}

function appendItems(u: Unpickler, target: unknown, items: unknown[]): void {
  const list = target instanceof PyRecord ? target.listItems : target;
  if (!Array.isArray(list) || Object.isFrozen(list)) u.fail(`APPEND on ${describe(list)}, not a list`);
  for (const item of items) list.push(item);
}

// ---------------------------------------------------------------------------------------------
// Built-in allowlist: constructors of plain containers, implemented here

/** Protocol 2 writes Python 2 module names (Python maps them as in _compat_pickle). */
const PY2_MODULES = new Map([
  ['__builtin__', 'builtins'],
  ['exceptions', 'builtins'],
  ['copy_reg', 'copyreg'],
]);

const BUILTIN_GLOBALS = new Map<string, PyGlobal>(
  (
    [
      ['collections', 'OrderedDict', (args) => new Map(pairs(args[0]))],
      // defaultdict(factory) and Counter(dict): the items follow (SETITEMS) or come as the argument.
      ['collections', 'defaultdict', () => new Map()],
      ['collections', 'Counter', (args) => new Map(args[0] instanceof Map ? args[0] : [])],
      ['collections', 'deque', (args) => iterable(args[0])],
      ['builtins', 'set', (args) => new Set(iterable(args[0]))],
      ['builtins', 'frozenset', (args) => new Set(iterable(args[0]))],
      ['builtins', 'bytes', (args) => toBytes(args[0])],
      ['builtins', 'bytearray', (args) => toBytes(args[0])],
      // Protocol 2 writes bytes as _codecs.encode(text, 'latin1').
      ['_codecs', 'encode', (args) => encodeLatin1(args[0], args[1])],
      // How protocols 0-1 and some __reduce__ methods spell "make an instance of cls".
      // _reconstructor(cls, base, state): a record keeps (base, state); a known type starts empty.
      ['copyreg', '_reconstructor', (args) => newRecord(args[0], args[0] instanceof PyRef ? args.slice(1) : [], 'copyreg._reconstructor')],
      ['copyreg', '__newobj__', (args) => newRecord(args[0], args.slice(1), 'copyreg.__newobj__')],
      ['copyreg', '__newobj_ex__', (args) => newRecord(args[0], iterable(args[1]), 'copyreg.__newobj_ex__', args[2])],
    ] as const satisfies readonly (readonly [string, string, (args: readonly unknown[]) => unknown])[]
  ).map(([module, name, call]) => [`${module}.${name}`, { module, name, call }]),
);

/**
 * copyreg's constructors: a record for a class segkit leaves inert (as NEWOBJ gives), else the
 * value of the constructor implemented here (an OrderedDict subclass filled by SETITEMS after).
 */
function newRecord(cls: unknown, args: unknown[], via: string, kwargs?: unknown): unknown {
  if (kwargs !== undefined && kwargs !== null && !(kwargs instanceof Map)) throw new Error(`keyword arguments are ${describe(kwargs)}, not a dict`);
  if (cls instanceof PyRef) return new PyRecord(cls, Object.freeze(args), (kwargs as Map<unknown, unknown> | undefined) ?? null);
  if (isPyGlobal(cls) && cls.call !== undefined) return cls.call(args);
  throw new Error(`${via} of ${describe(cls)}, which is not a class`);
}

function iterable(value: unknown): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return [...value];
  if (value instanceof Set || value instanceof Map) return [...value.keys()];
  throw new Error(`expected a list, got ${describe(value)}`);
}

function pairs(value: unknown): [unknown, unknown][] {
  return iterable(value).map((item) => {
    if (!Array.isArray(item) || item.length !== 2) throw new Error(`expected (key, value) pairs, got ${describe(item)}`);
    return [item[0], item[1]];
  });
}

function toBytes(value: unknown): Uint8Array {
  if (value === undefined) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value.slice();
  const items = iterable(value);
  if (!items.every((b) => Number.isInteger(b) && (b as number) >= 0 && (b as number) < 256)) {
    throw new Error('expected byte values 0..255');
  }
  return Uint8Array.from(items as number[]);
}

function encodeLatin1(text: unknown, encoding: unknown): Uint8Array {
  if (typeof text !== 'string') throw new Error(`expected a string, got ${describe(text)}`);
  if (encoding !== 'latin1' && encoding !== 'latin-1') throw new Error(`only latin1 encoding is supported, got ${describe(encoding)}`);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 255) throw new Error('character outside latin1');
    out[i] = c;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Helpers

/** Little-endian two's-complement integer; a number when it fits exactly, else a bigint. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.byteLength === 0) return 0;
  let hexDigits = '';
  for (let i = bytes.byteLength - 1; i >= 0; i--) hexDigits += hex(bytes[i]); // linear, even for huge LONG4s
  let value = BigInt(`0x${hexDigits}`);
  if (bytes[bytes.byteLength - 1] & 0x80) value -= 1n << BigInt(8 * bytes.byteLength);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

const UTF8 = new TextDecoder('utf-8');

function utf8(bytes: Uint8Array): string {
  return UTF8.decode(bytes);
}

function latin1(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function hex(code: number): string {
  return code.toString(16).padStart(2, '0');
}

function isPyGlobal(value: unknown): value is PyGlobal {
  return typeof value === 'object' && value !== null && typeof (value as PyGlobal).module === 'string' && typeof (value as PyGlobal).name === 'string';
}

/** A short description of an unpickled value for error messages ("a dict", "os.system", ...). */
export function describe(value: unknown): string {
  if (value === null) return 'None';
  if (value instanceof PyRecord) return `a ${value.className} object`;
  if (isPyGlobal(value)) return `${value.module}.${value.name}`;
  if (isTuple(value)) return 'a tuple';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Map) return 'a dict';
  if (value instanceof Set) return 'a set';
  if (value instanceof Uint8Array) return 'bytes';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
