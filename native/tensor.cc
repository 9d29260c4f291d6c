// Tensor handles from the JS side: data in and out, metadata, autograd entry points, and the
// module's init.
#include "runtime.h"

#include <ATen/Parallel.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/function.h>
#include <torch/version.h>
#include <ATen/detail/CUDAHooksInterface.h>
#include <atomic>
#include <cstring>

namespace segkit {

at::ScalarType parseDtype(Napi::Env env, const std::string& s) {
  static const std::unordered_map<std::string, at::ScalarType> names = {
      {"float32", at::kFloat}, {"float", at::kFloat},       {"float16", at::kHalf},    {"half", at::kHalf},
      {"bfloat16", at::kBFloat16}, {"float64", at::kDouble}, {"double", at::kDouble}, {"uint8", at::kByte},
      {"int8", at::kChar},     {"int16", at::kShort},       {"int32", at::kInt},       {"int64", at::kLong},
      {"long", at::kLong},     {"bool", at::kBool}};
  auto it = names.find(s);
  if (it == names.end()) {
    throw Napi::TypeError::New(env, "unknown dtype '" + s +
                                        "' (use float32, float16, bfloat16, float64, uint8, int8, int16, int32, int64 or bool)");
  }
  return it->second;
}

std::string dtypeName(at::ScalarType t) {
  switch (t) {
    case at::kFloat: return "float32";
    case at::kHalf: return "float16";
    case at::kBFloat16: return "bfloat16";
    case at::kDouble: return "float64";
    case at::kByte: return "uint8";
    case at::kChar: return "int8";
    case at::kShort: return "int16";
    case at::kInt: return "int32";
    case at::kLong: return "int64";
    case at::kBool: return "bool";
    default: return c10::toString(t);
  }
}

namespace {

// The tensor behind a handle, ready to read on the JS thread.
at::Tensor ready(Napi::Env env, const Napi::Value& id, const char* what) {
  drain();  // also after a runAsync block closed: its work may still be running
  SlotPtr slot = lookup(env, id, what);
  if (!slot->t.defined()) {
    throw Napi::Error::New(env, std::string(what) +
                                    ": the tensor has no value (the asynchronous op that should have produced it failed)");
  }
  return slot->t;
}

std::vector<int64_t> toShape(Napi::Env env, const Napi::Value& v) {
  if (!v.IsArray()) throw Napi::TypeError::New(env, "shape must be an array of non-negative integers");
  auto arr = v.As<Napi::Array>();
  std::vector<int64_t> shape;
  for (uint32_t i = 0; i < arr.Length(); i++) {
    Napi::Value x = arr.Get(i);
    double d = x.IsNumber() ? x.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      throw Napi::TypeError::New(env, "shape must be an array of non-negative integers, got entry " + std::to_string(i) +
                                          " = " + x.ToString().Utf8Value());
    }
    shape.push_back(static_cast<int64_t>(d));
  }
  return shape;
}

// The bytes `shape` of `dtype` takes, which must be the `have` bytes of the JS array.
uint64_t checkedBytes(Napi::Env env, const std::string& what, const std::vector<int64_t>& shape, at::ScalarType dtype,
                      size_t have) {
  uint64_t need = c10::elementSize(dtype);
  bool overflow = false;
  for (auto s : shape) overflow |= __builtin_mul_overflow(need, static_cast<uint64_t>(s), &need);
  if (overflow) {
    throw Napi::RangeError::New(env, what + ": shape [" + c10::Join(", ", shape) + "] is too large (its byte size overflows)");
  }
  if (need != have) {
    throw Napi::RangeError::New(env, what + ": shape [" + c10::Join(", ", shape) + "] of " + dtypeName(dtype) +
                                         " needs " + std::to_string(need) + " bytes, got " + std::to_string(have));
  }
  return need;
}

// fromBytes(bytes: ArrayBufferView, shape, dtype) -> handle. Copies: JS may keep writing the array.
Napi::Value FromBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // the data pointer straight from the view: its buffer may be a SharedArrayBuffer (the data
  // loader's recycled batches), which napi_get_arraybuffer_info refuses
  void* data = nullptr;
  size_t have = 0;
  if (info[0].IsTypedArray()) {
    napi_typedarray_type type;
    size_t length;
    napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr);
    have = info[0].As<Napi::TypedArray>().ByteLength();
  } else if (info[0].IsDataView()) {
    napi_get_dataview_info(env, info[0], &have, &data, nullptr, nullptr);
  } else {
    throw Napi::TypeError::New(env, "fromBytes: expected a typed array");
  }
  auto shape = toShape(env, info[1]);
  auto dtype = parseDtype(env, info[2].As<Napi::String>());
  uint64_t need = checkedBytes(env, "fromBytes", shape, dtype, have);
  at::Tensor t;
  try {
    t = at::empty(shape, at::TensorOptions().dtype(dtype));
  } catch (...) {
    rethrowAsJs(env, "fromBytes");
  }
  if (need) std::memcpy(t.data_ptr(), data, need);
  return newTensor(env, std::move(t));
}

// ---- zero-copy tensors over JS memory ----
// The tensor holds a napi reference to the typed array so its memory stays alive. libtorch may
// drop the last use of the tensor on any thread (the compute thread, an OpenMP worker), but napi
// references can only be deleted on the JS thread: the deleter hands them to a thread-safe
// function, which deletes them there.
namespace {
// null again once Node-API has finalized it (the environment is torn down at exit): the
// references left are not deleted then
std::atomic<napi_threadsafe_function> unrefQueue{nullptr};

void deleteRefOnJsThread(napi_env env, napi_value, void*, void* data) {
  if (env) napi_delete_reference(env, static_cast<napi_ref>(data));
}

void unrefQueueFinalized(napi_env, void*, void*) { unrefQueue = nullptr; }

void releaseRef(napi_ref ref) {
  if (napi_threadsafe_function q = unrefQueue) napi_call_threadsafe_function(q, ref, napi_tsfn_nonblocking);
}
}  // namespace

// shareBytes(view: TypedArray, shape, dtype) -> handle of a tensor that USES the array's memory:
// writes on either side are seen by the other. The array must not be transferred or detached
// while the tensor lives.
Napi::Value ShareBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(env, "shareBytes: expected a typed array");
  napi_typedarray_type type;
  size_t length;
  void* data = nullptr;
  napi_get_typedarray_info(env, info[0], &type, &length, &data, nullptr, nullptr);
  size_t have = info[0].As<Napi::TypedArray>().ByteLength();
  auto shape = toShape(env, info[1]);
  auto dtype = parseDtype(env, info[2].As<Napi::String>());
  checkedBytes(env, "shareBytes", shape, dtype, have);
  if (reinterpret_cast<uintptr_t>(data) % c10::elementSize(dtype) != 0) {
    throw Napi::Error::New(env, "shareBytes: the array's memory is not aligned for " + dtypeName(dtype) + "; copy it instead");
  }
  if (!unrefQueue) {
    napi_value name;
    napi_threadsafe_function q;
    napi_create_string_utf8(env, "segkit.unref", NAPI_AUTO_LENGTH, &name);
    napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, unrefQueueFinalized, nullptr,
                                    deleteRefOnJsThread, &q);
    napi_unref_threadsafe_function(env, q);  // never keeps the process alive by itself
    unrefQueue = q;
  }
  napi_ref ref;
  napi_create_reference(env, info[0], 1, &ref);
  at::Tensor t;
  try {
    t = at::from_blob(data, shape, [ref](void*) { releaseRef(ref); }, at::TensorOptions().dtype(dtype));
  } catch (...) {
    napi_delete_reference(env, ref);
    rethrowAsJs(env, "shareBytes");
  }
  return newTensor(env, std::move(t));
}

// toBytes(handle) -> ArrayBuffer with the contiguous CPU data (a copy)
Napi::Value ToBytes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = ready(env, info[0], "toBytes");
  try {
    at::NoGradGuard g;
    t = t.to(at::kCPU).contiguous();
    size_t n = t.numel() * t.element_size();
    Napi::ArrayBuffer buf = Napi::ArrayBuffer::New(env, n);
    if (n) std::memcpy(buf.Data(), t.data_ptr(), n);  // throws for tensors without storage (sparse)
    return buf;
  } catch (...) {
    rethrowAsJs(env, "toBytes");
  }
}

// dataView(handle) -> ArrayBuffer that shares the tensor's memory (CPU, contiguous) without a copy.
// The buffer keeps the storage alive until it is garbage collected.
Napi::Value DataView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = ready(env, info[0], "dataView");
  if (!t.device().is_cpu() || !t.is_contiguous()) {
    throw Napi::Error::New(env, "dataView: needs a contiguous CPU tensor (call .contiguous() or .cpu() first)");
  }
  size_t n = t.numel() * t.element_size();
  if (n == 0) return Napi::ArrayBuffer::New(env, 0);
  void* data;
  try {
    data = t.data_ptr();  // throws for tensors without storage (sparse, mkldnn)
  } catch (...) {
    rethrowAsJs(env, "dataView");
  }
  auto* hold = new at::Tensor(t);
  return Napi::ArrayBuffer::New(env, data, n, [](Napi::Env, void*, at::Tensor* h) { delete h; }, hold);
}

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = ready(env, info[0], "tensor");
  Napi::Object o = Napi::Object::New(env);
  Napi::Array shape = Napi::Array::New(env, t.dim());
  Napi::Array strides = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) {
    shape.Set(i, Napi::Number::New(env, static_cast<double>(t.size(i))));
    strides.Set(i, Napi::Number::New(env, static_cast<double>(t.stride(i))));
  }
  o.Set("shape", shape);
  o.Set("strides", strides);
  o.Set("dtype", dtypeName(t.scalar_type()));
  o.Set("device", t.device().str());
  o.Set("requiresGrad", t.requires_grad());
  o.Set("isLeaf", t.is_leaf());
  o.Set("channelsLast", t.dim() == 4 && t.is_contiguous(at::MemoryFormat::ChannelsLast) && !t.is_contiguous());
  o.Set("gradFn", t.grad_fn() ? Napi::Value(Napi::String::New(env, t.grad_fn()->name())) : env.Null());
  return o;
}

Napi::Value Shape(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = ready(env, info[0], "shape");
  Napi::Array shape = Napi::Array::New(env, t.dim());
  for (int64_t i = 0; i < t.dim(); i++) shape.Set(i, Napi::Number::New(env, static_cast<double>(t.size(i))));
  return shape;
}

Napi::Value Item(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = ready(env, info[0], "item");
  if (t.numel() != 1) {
    throw Napi::Error::New(env, "item: needs a tensor with exactly one element, got shape [" +
                                    c10::Join(", ", t.sizes()) + "]");
  }
  try {
    auto s = t.item();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    if (s.isIntegral(false)) return Napi::Number::New(env, static_cast<double>(s.toLong()));
    return Napi::Number::New(env, s.toDouble());
  } catch (...) {
    rethrowAsJs(env, "item");
  }
}

Napi::Value Dispose(const Napi::CallbackInfo& info) {
  releaseHandle(info[0].As<Napi::Number>().DoubleValue());
  return info.Env().Undefined();
}

// share(handle) -> a second handle to the same tensor (same storage, same autograd identity)
Napi::Value Share(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SlotPtr s = lookup(env, info[0], "share");
  return Napi::Number::New(env, newHandle(s));
}

// ---- autograd ----
Napi::Value Grad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  at::Tensor t = ready(env, info[0], "grad");
  const at::Tensor& g = t.grad();
  if (!g.defined()) return env.Undefined();
  return newTensor(env, g);
}

// run() for the autograd entry points, with their name on errors also when the work is queued
// (the error then reaches JS later, as the rejection of runAsync's Promise)
void runNamed(Napi::Env env, const char* name, std::function<void()> work) {
  if (!asyncActive()) {
    try {
      run(env, std::move(work));
    } catch (...) {
      rethrowAsJs(env, name);
    }
    return;
  }
  run(env, [name, work = std::move(work)]() {
    try {
      work();
    } catch (const std::exception& e) {
      throw std::runtime_error(std::string(name) + ": " + cleanMessage(e.what()));
    }
  });
}

Napi::Value SetGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SlotPtr t = lookup(env, info[0], "setGrad");
  SlotPtr g = info[1].IsNull() || info[1].IsUndefined() ? nullptr : lookup(env, info[1], "setGrad");
  runNamed(env, "setGrad", [t, g]() { defined(t).mutable_grad() = g ? defined(g) : at::Tensor(); });
  return env.Undefined();
}

Napi::Value SetRequiresGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SlotPtr t = lookup(env, info[0], "requiresGrad");
  bool flag = info[1].As<Napi::Boolean>();
  runNamed(env, "requiresGrad", [t, flag]() { defined(t).set_requires_grad(flag); });
  return env.Undefined();
}

Napi::Value RetainGrad(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  SlotPtr t = lookup(env, info[0], "retainGrad");
  runNamed(env, "retainGrad", [t]() { defined(t).retain_grad(); });
  return env.Undefined();
}

// backward(outputs[], grads[] | null, retainGraph, createGraph)
Napi::Value Backward(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto outs = info[0].As<Napi::Array>();
  std::vector<SlotPtr> outputs, grads;
  for (uint32_t i = 0; i < outs.Length(); i++) outputs.push_back(lookup(env, outs.Get(i), "backward"));
  if (info[1].IsArray()) {
    auto gs = info[1].As<Napi::Array>();
    for (uint32_t i = 0; i < gs.Length(); i++) {
      Napi::Value g = gs.Get(i);
      grads.push_back(g.IsNull() || g.IsUndefined() ? nullptr : lookup(env, g, "backward"));
    }
  }
  bool retain = info[2].As<Napi::Boolean>();
  bool create = info[3].As<Napi::Boolean>();
  ExecMode mode = currentMode();
  runNamed(env, "backward", [outputs, grads, retain, create, mode]() {
    std::vector<at::Tensor> o, g;
    for (auto& s : outputs) o.push_back(defined(s));
    for (auto& s : grads) g.push_back(s ? defined(s) : at::Tensor());
    ModeGuard guard(mode);
    torch::autograd::backward(o, g, retain, create);
  });
  return env.Undefined();
}

Napi::Value ManualSeed(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint64_t seed = static_cast<uint64_t>(info[0].As<Napi::Number>().Int64Value());
  run(env, [seed]() { at::manual_seed(seed); });
  return env.Undefined();
}

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("torchVersion", TORCH_VERSION);
  o.Set("cxx11Abi", Napi::Boolean::New(env, _GLIBCXX_USE_CXX11_ABI));
  o.Set("cuda", Napi::Boolean::New(env, at::hasCUDA()));
  o.Set("mkldnn", Napi::Boolean::New(env, at::hasMKLDNN()));
  o.Set("parallel", at::get_parallel_info());
  o.Set("config", at::show_config());
  return o;
}

Napi::Value CudaAvailable(const Napi::CallbackInfo& info) {
  return Napi::Boolean::New(info.Env(), at::hasCUDA() && at::detail::getCUDAHooks().getNumGPUs() > 0);
}

}  // namespace

void initTensor(Napi::Env env, Napi::Object exports) {
  exports.Set("fromBytes", Napi::Function::New(env, FromBytes));
  exports.Set("shareBytes", Napi::Function::New(env, ShareBytes));
  exports.Set("toBytes", Napi::Function::New(env, ToBytes));
  exports.Set("dataView", Napi::Function::New(env, DataView));
  exports.Set("info", Napi::Function::New(env, Info));
  exports.Set("shape", Napi::Function::New(env, Shape));
  exports.Set("item", Napi::Function::New(env, Item));
  exports.Set("dispose", Napi::Function::New(env, Dispose));
  exports.Set("share", Napi::Function::New(env, Share));
  exports.Set("grad", Napi::Function::New(env, Grad));
  exports.Set("setGrad", Napi::Function::New(env, SetGrad));
  exports.Set("setRequiresGrad", Napi::Function::New(env, SetRequiresGrad));
  exports.Set("retainGrad", Napi::Function::New(env, RetainGrad));
  exports.Set("backward", Napi::Function::New(env, Backward));
  exports.Set("manualSeed", Napi::Function::New(env, ManualSeed));
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo));
  exports.Set("cudaAvailable", Napi::Function::New(env, CudaAvailable));
}

}  // namespace segkit

static Napi::Object Init(Napi::Env env, Napi::Object exports) {
  segkit::initRuntime(env, exports);
  segkit::initOps(env, exports);
  segkit::initTensor(env, exports);
  return exports;
}

NODE_API_MODULE(segkit, Init)
