// Which Python globals a pickle may name: the rule that makes segkit refuse hostile files.
//
// segkit's unpickler never calls anything. A class or function it does not implement becomes
// an inert record (see PyRef/PyRecord in pickle.ts), so no global can make segkit itself run
// code. This list therefore is not what keeps segkit safe; it is what makes segkit refuse, with
// a clear error, a file that is an attack: one that, loaded by Python (torch.load, pickle.load),
// would run a command or code, look up arbitrary modules and attributes by name, touch files,
// sockets or memory, or load another pickle. Returning weights from such a file would hide the
// attack from a user who may later open the same file in Python.
//
// The rule, applied to every GLOBAL / STACK_GLOBAL (module, name):
//  1. builtins (also spelt __builtin__ / __builtins__): only data types and exception classes.
//     Every other builtin is refused: eval, exec, compile, getattr, setattr, delattr,
//     __import__, open, globals, locals, vars, breakpoint, input, print, type, ... Builtins are
//     allowlisted, as torch.load(weights_only=True) and fickling do: most act on the interpreter.
//  2. A module on DENIED_MODULES, or any of its submodules, is refused whole (os, posix, nt,
//     subprocess, sys, importlib, runpy, pickle, marshal, shutil, socket, ctypes, ...), as are
//     the single names on DENIED_NAMES (torch.load, numpy.load, operator.attrgetter, ...).
//     The lists follow picklescan's `_unsafe_globals` and fickling's UNSAFE_IMPORTS, narrowed to
//     what can do harm: harmless names that torch checkpoints carry (functools.partial,
//     logging.getLogger, pathlib paths, uuid.UUID, types.SimpleNamespace) stay inert records.
//  3. Since protocol 4 Python resolves dotted names (module 'torch', name 'os.system' is
//     torch.os.system, i.e. os.system), every attribute step of the name is checked as if it
//     started a path of its own, and a name with a dunder step (__globals__, __builtins__,
//     __class__, ...) is refused: both are how exploits reach a denied function through an
//     allowed module.
//
// No deny list can name every harmful Python function; the guarantee is that nothing runs.

/** Why a global is refused, as a clause: "its pickle names os.system, which <reason>". */
export type RefusalReason = string;

const COMMANDS = 'runs shell commands or other programs';
const CODE = 'runs Python code or a debugger';
const LOOKUP = 'looks up modules or attributes by name, the gadget pickle exploits use to reach any function';
const NESTED = 'loads another pickle or serialized code';
const FILES = 'reads, writes or deletes files';
const NETWORK = 'opens network connections';
const NATIVE = 'loads native code or touches raw memory';
const PROCESS = 'controls the interpreter, its threads or its processes';

/** Whole modules (and their submodules). Python 2 names are listed too: protocol 2 maps them. */
const DENIED_MODULES = byReason([
  [COMMANDS, [
    'os', 'posix', 'nt', 'subprocess', '_posixsubprocess', 'pty', 'commands', 'popen2', 'pexpect', 'pipes',
    'platform', 'webbrowser', 'asyncio', 'pip', 'ensurepip', 'venv', '_osx_support', '_aix_support', '_winapi', 'msvcrt',
  ]],
  [CODE, [
    'code', 'codeop', 'runpy', 'timeit', 'pdb', 'bdb', 'cProfile', 'profile', 'trace', 'doctest', 'idlelib', 'lib2to3',
    'compileall', 'py_compile', 'numpy.f2py', 'numpy.testing', 'numpy.distutils',
    // TorchScript, fx and package archives rebuild modules by compiling the code they carry
    'torch.jit', 'torch.fx', 'torch._dynamo', 'torch._inductor', 'torch.package', 'torch.testing',
    'torch.utils.collect_env', 'torch.utils.bottleneck', 'torch.utils._config_module',
  ]],
  [LOOKUP, [
    'importlib', '_frozen_importlib', '_frozen_importlib_external', '_imp', 'imp', 'pkgutil', 'zipimport', 'inspect',
    'pydoc', 'sys', 'gc', 'site',
  ]],
  [NESTED, [
    'pickle', '_pickle', 'cPickle', 'pickletools', 'marshal', 'shelve', 'dill', 'cloudpickle', 'joblib', 'yaml',
    'torch.serialization', 'torch.hub', 'torch.utils.model_zoo', 'torch.utils.data.datapipes', 'numpy.lib.npyio',
    'numpy.lib.format', 'pandas.io',
  ]],
  [FILES, [
    'shutil', 'tempfile', 'filecmp', 'fileinput', 'glob', 'linecache', 'distutils', 'setuptools', 'tarfile', 'zipfile',
    'gzip', 'bz2', 'lzma', 'sqlite3', '_sqlite3', 'dbm', 'mmap', '_io', 'logging.config', 'logging.handlers', 'torch.onnx',
  ]],
  [NETWORK, [
    'socket', '_socket', 'ssl', '_ssl', 'http', 'httplib', 'urllib', 'urllib2', 'urllib3', 'requests', 'httpx', 'aiohttp',
    'smtplib', 'imaplib', 'ftplib', 'poplib', 'telnetlib', 'nntplib', 'socketserver', 'SocketServer', 'xmlrpc', 'select',
    'selectors', 'torch.distributed',
  ]],
  [NATIVE, ['ctypes', '_ctypes', 'cffi', 'numpy.ctypeslib', 'torch.utils.cpp_extension']],
  [PROCESS, [
    'signal', '_signal', 'atexit', 'threading', '_thread', 'thread', 'multiprocessing', 'concurrent', 'resource',
    '_interpreters', '_xxsubinterpreters', 'torch.multiprocessing',
  ]],
]);

/** Single names in otherwise harmless modules. */
const DENIED_NAMES = new Map<string, RefusalReason>([
  ['torch.load', NESTED],
  ['torch.save', FILES],
  ['torch.from_file', FILES],
  ['torch.storage._load_from_bytes', NESTED],
  ['torch.ops.load_library', NATIVE],
  ['torch.classes.load_library', NATIVE],
  ['numpy.load', NESTED],
  ['numpy.loads', NESTED], // an old alias of pickle.loads
  ['numpy.fromfile', FILES],
  ['numpy.memmap', FILES],
  ['numpy.save', FILES],
  ['numpy.savez', FILES],
  ['numpy.savez_compressed', FILES],
  ['numpy.savetxt', FILES],
  ['numpy.loadtxt', FILES],
  ['numpy.genfromtxt', FILES],
  ['numpy.ndarray.tofile', FILES],
  ['numpy.ndarray.dump', FILES],
  ['pandas.read_pickle', NESTED],
  ['operator.attrgetter', LOOKUP],
  ['operator.itemgetter', LOOKUP],
  ['operator.methodcaller', LOOKUP],
  ['operator.call', LOOKUP],
  ['operator.getitem', LOOKUP],
  ['operator.setitem', LOOKUP],
  ['operator.delitem', LOOKUP],
  ['io.open', FILES],
  ['io.open_code', FILES],
  ['io.FileIO', FILES],
  ['codecs.open', FILES],
  ['logging.FileHandler', FILES],
  ['logging.basicConfig', FILES],
  ['types.FunctionType', CODE],
  ['types.LambdaType', CODE],
  ['types.CodeType', CODE],
  ['types.MethodType', CODE],
  ['torch._C.import_ir_module', CODE],
  ['torch._C.import_ir_module_from_buffer', CODE],
  ['copyreg.add_extension', CODE],
  ['copyreg.remove_extension', CODE],
  ['copyreg.pickle', CODE],
]);

/** Modules whose private (`_`) names run commands (uuid's helpers call ifconfig/ipconfig in older Pythons). */
const PRIVATE_NAMES_RUN_COMMANDS = new Set(['uuid']);

/** Builtins that are plain data or exception types: the only builtins a pickle may name. */
const DATA_BUILTINS = new Set([
  'object', 'bool', 'int', 'float', 'complex', 'str', 'bytes', 'bytearray', 'list', 'tuple', 'dict',
  'set', 'frozenset', 'slice', 'range', 'Ellipsis', 'NotImplemented',
]);
const EXCEPTION_NAME = /^[A-Z]\w*(Error|Exception|Warning|Exit|Interrupt)$/;

const BUILTIN_REASONS = byReason([
  [CODE, ['eval', 'exec', 'execfile', 'compile', 'apply', 'breakpoint', 'input', 'help', 'exit', 'quit', '__build_class__']],
  [LOOKUP, [
    'getattr', 'setattr', 'delattr', 'hasattr', '__import__', 'globals', 'locals', 'vars', 'dir', 'type', 'super',
    'classmethod', 'staticmethod', 'property', 'memoryview', 'id',
  ]],
  [FILES, ['open', 'file']],
]);

const BUILTIN_MODULES = new Set(['builtins', '__builtin__', '__builtins__']);

/** Names Python may import whose dunder step is harmless: our own implementations of them. */
const ALLOWED_DUNDERS = new Set(['copyreg.__newobj__', 'copyreg.__newobj_ex__', '__main__']);

function byReason(groups: [RefusalReason, string[]][]): Map<string, RefusalReason> {
  return new Map(groups.flatMap(([reason, names]) => names.map((n) => [n, reason] as const)));
}

/**
 * Why `module.name` must not be loaded, or undefined when it may become an inert record (or one
 * of segkit's own implementations). `module` is already mapped from Python 2 names.
 */
export function refusalReason(module: string, name: string): RefusalReason | undefined {
  const nameParts = name.split('.');
  if (BUILTIN_MODULES.has(module)) {
    if (nameParts.length === 1 && (DATA_BUILTINS.has(name) || EXCEPTION_NAME.test(name))) return undefined;
    return BUILTIN_REASONS.get(nameParts[0]) ?? 'is a builtin that is not a data type (only data types and exceptions may be named)';
  }
  const moduleParts = module.split('.');
  const parts = [...moduleParts, ...nameParts];
  const full = parts.join('.');
  for (const p of parts) {
    if (p.startsWith('__') && p.endsWith('__') && p.length > 4 && !ALLOWED_DUNDERS.has(p) && !ALLOWED_DUNDERS.has(full)) {
      return `reaches the interpreter's internals through ${p}`;
    }
  }
  if (PRIVATE_NAMES_RUN_COMMANDS.has(module) && nameParts[0].startsWith('_')) return COMMANDS;
  // A path starts at the module's root and again at every attribute step of the name.
  const starts = [0, ...nameParts.map((_, i) => moduleParts.length + i)];
  for (const start of starts) {
    for (let end = start + 1; end <= parts.length; end++) {
      const path = parts.slice(start, end).join('.');
      const reason = DENIED_MODULES.get(path) ?? DENIED_NAMES.get(path);
      if (reason !== undefined) return reason;
      if (start > 0 && BUILTIN_MODULES.has(path)) return LOOKUP;
    }
  }
  return undefined;
}
