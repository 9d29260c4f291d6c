// One generic entry for every ATen op: look the op up by name and overload, convert each JS
// argument by the type the schema declares, call it boxed through the c10 dispatcher, and
// hand the results back as tensor handles or plain values.
#include "runtime.h"

#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/core/function_schema.h>
#include <ATen/core/stack.h>
#include <deque>

namespace segkit {
namespace {

// An argument converted on the JS thread. Tensors stay as slots until the op runs, because in
// async mode the tensor they hold may not have been computed yet.
struct Arg {
  enum Kind { Value, Tensor, TensorList, OptTensorList } kind = Value;
  c10::IValue value;
  SlotPtr tensor;
  std::vector<SlotPtr> tensors;  // null entries mean None in OptTensorList

  c10::IValue materialise() const {
    switch (kind) {
      case Value:
        return value;
      case Tensor:
        return c10::IValue(defined(tensor));
      case TensorList: {
        c10::List<at::Tensor> list;
        list.reserve(tensors.size());
        for (auto& s : tensors) list.push_back(defined(s));
        return c10::IValue(list);
      }
      case OptTensorList: {
        c10::List<c10::optional<at::Tensor>> list;
        for (auto& s : tensors) list.push_back(s ? c10::optional<at::Tensor>(defined(s)) : c10::nullopt);
        return c10::IValue(list);
      }
    }
    return c10::IValue();
  }
};

enum class Ret { Tensor, OptTensor, TensorList, Alias, Value };

struct OpEntry {
  c10::OperatorHandle handle;
  std::string name;  // aten::add.Tensor
  std::vector<Ret> returns;
  bool valueReturns = false;  // needs its results on the JS thread: run synchronously
};
// A deque, never destroyed: queued work keeps a pointer to its entry, which neither a growing
// registry nor the exit of the process (the compute thread may still run) may move or free.
std::deque<OpEntry>& registry = *new std::deque<OpEntry>;
std::unordered_map<std::string, size_t> registryIndex;

std::string typeName(const c10::TypePtr& t) { return t->annotation_str(); }

[[noreturn]] void badArg(Napi::Env env, const OpEntry& op, const c10::Argument& a, const std::string& what) {
  throw Napi::TypeError::New(env, op.name + ": argument '" + a.name() + "' (" + typeName(a.real_type()) +
                                      ") " + what);
}

int64_t toInt(Napi::Env env, const OpEntry& op, const c10::Argument& a, const Napi::Value& v) {
  if (v.IsBigInt()) {
    bool lossless;
    return v.As<Napi::BigInt>().Int64Value(&lossless);
  }
  if (!v.IsNumber()) badArg(env, op, a, "expects an integer, got " + std::string(v.IsString() ? "a string" : "a non-number"));
  double d = v.As<Napi::Number>().DoubleValue();
  // range first: casting NaN or a double beyond int64 is undefined behaviour
  if (!(std::fabs(d) < 9.2e18) || d != std::trunc(d)) badArg(env, op, a, "expects an integer, got " + std::to_string(d));
  return static_cast<int64_t>(d);
}

c10::Scalar toScalar(Napi::Env env, const OpEntry& op, const c10::Argument& a, const Napi::Value& v) {
  if (v.IsBoolean()) return c10::Scalar(v.As<Napi::Boolean>().Value());
  if (v.IsBigInt()) {
    bool lossless;
    return c10::Scalar(v.As<Napi::BigInt>().Int64Value(&lossless));
  }
  if (!v.IsNumber()) badArg(env, op, a, "expects a number");
  double d = v.As<Napi::Number>().DoubleValue();
  // a JS number has no int/float distinction: integral values act like Python ints
  if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9.007199254740992e15) return c10::Scalar(static_cast<int64_t>(d));
  return c10::Scalar(d);
}

std::string toStr(Napi::Env env, const OpEntry& op, const c10::Argument& a, const Napi::Value& v) {
  if (!v.IsString()) badArg(env, op, a, "expects a string");
  return v.As<Napi::String>().Utf8Value();
}

c10::MemoryFormat parseMemoryFormat(Napi::Env env, const std::string& s) {
  if (s == "contiguous") return c10::MemoryFormat::Contiguous;
  if (s == "channels_last" || s == "channelsLast") return c10::MemoryFormat::ChannelsLast;
  if (s == "preserve") return c10::MemoryFormat::Preserve;
  if (s == "channels_last_3d") return c10::MemoryFormat::ChannelsLast3d;
  throw Napi::TypeError::New(env, "unknown memory format '" + s + "' (use contiguous, channels_last or preserve)");
}

// Convert one JS value to an IValue of the schema type `t` (not optional, not a tensor).
c10::IValue toValue(Napi::Env env, const OpEntry& op, const c10::Argument& a, const c10::TypePtr& t,
                    const Napi::Value& v) {
  switch (t->kind()) {
    case c10::TypeKind::IntType:
    case c10::TypeKind::SymIntType:
      return c10::IValue(toInt(env, op, a, v));
    case c10::TypeKind::FloatType:
      if (!v.IsNumber()) badArg(env, op, a, "expects a number");
      return c10::IValue(v.As<Napi::Number>().DoubleValue());
    case c10::TypeKind::BoolType:
      if (!v.IsBoolean()) badArg(env, op, a, "expects a boolean");
      return c10::IValue(v.As<Napi::Boolean>().Value());
    case c10::TypeKind::NumberType:
      return c10::IValue(toScalar(env, op, a, v));
    case c10::TypeKind::StringType:
      return c10::IValue(toStr(env, op, a, v));
    case c10::TypeKind::ScalarTypeType:
      try {
        return c10::IValue(static_cast<int64_t>(parseDtype(env, toStr(env, op, a, v))));
      } catch (const Napi::TypeError& e) {
        badArg(env, op, a, e.Message());  // name the op, not just the bad dtype
      }
    case c10::TypeKind::LayoutType: {
      std::string s = toStr(env, op, a, v);
      if (s != "strided") badArg(env, op, a, "supports only 'strided', got '" + s + "'");
      return c10::IValue(static_cast<int64_t>(c10::kStrided));
    }
    case c10::TypeKind::MemoryFormatType:
      try {
        return c10::IValue(static_cast<int64_t>(parseMemoryFormat(env, toStr(env, op, a, v))));
      } catch (const Napi::TypeError& e) {
        badArg(env, op, a, e.Message());
      }
    case c10::TypeKind::DeviceObjType: {
      std::string s = toStr(env, op, a, v);
      try {
        return c10::IValue(c10::Device(s));
      } catch (const std::exception&) {
        badArg(env, op, a, "got an unknown device '" + s + "' (use 'cpu', 'cuda' or 'cuda:N')");
      }
    }
    case c10::TypeKind::ListType: {
      auto elem = t->expectRef<c10::ListType>().getElementType();
      auto k = elem->kind();
      if (k == c10::TypeKind::IntType || k == c10::TypeKind::SymIntType) {
        std::vector<int64_t> out;
        if (v.IsNumber() && a.N()) {  // int[2] given as one int: repeat it, as PyTorch does
          out.assign(*a.N(), toInt(env, op, a, v));
        } else {
          if (!v.IsArray()) badArg(env, op, a, "expects an array of integers");
          auto arr = v.As<Napi::Array>();
          for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(toInt(env, op, a, arr.Get(i)));
          // int[N] with N >= 2 is one value per spatial dim (int[1] is any number of dims). Some
          // kernels index it without checking its length (reflection_pad2d crashes on []), so
          // insist on N values; one value stands for all, and [] only where it is the default.
          size_t n = a.N() ? static_cast<size_t>(*a.N()) : 0;
          if (n >= 2 && out.size() != n) {
            bool emptyDefault = out.empty() && a.default_value() && a.default_value()->isIntList() &&
                                a.default_value()->toIntList().empty();
            if (out.size() == 1) {
              out.assign(n, out[0]);
            } else if (!emptyDefault) {
              badArg(env, op, a, "expects " + std::to_string(n) + " integers (or one for all), got " + std::to_string(out.size()));
            }
          }
        }
        return c10::IValue(out);
      }
      if (k == c10::TypeKind::FloatType) {
        if (!v.IsArray()) badArg(env, op, a, "expects an array of numbers");
        auto arr = v.As<Napi::Array>();
        std::vector<double> out;
        for (uint32_t i = 0; i < arr.Length(); i++) {
          Napi::Value x = arr.Get(i);
          if (!x.IsNumber()) badArg(env, op, a, "expects an array of numbers");
          out.push_back(x.As<Napi::Number>().DoubleValue());
        }
        return c10::IValue(out);
      }
      if (k == c10::TypeKind::BoolType) {
        if (!v.IsArray()) badArg(env, op, a, "expects an array of booleans");
        auto arr = v.As<Napi::Array>();
        c10::List<bool> out;
        for (uint32_t i = 0; i < arr.Length(); i++) {
          Napi::Value x = arr.Get(i);
          if (!x.IsBoolean()) badArg(env, op, a, "expects an array of booleans");
          out.push_back(x.As<Napi::Boolean>().Value());
        }
        return c10::IValue(out);
      }
      if (k == c10::TypeKind::NumberType) {
        if (!v.IsArray()) badArg(env, op, a, "expects an array of numbers");
        auto arr = v.As<Napi::Array>();
        std::vector<c10::Scalar> out;
        for (uint32_t i = 0; i < arr.Length(); i++) out.push_back(toScalar(env, op, a, arr.Get(i)));
        return c10::IValue(out);
      }
      badArg(env, op, a, "is a list type segkit cannot pass yet");
    }
    default:
      badArg(env, op, a, "is a type segkit cannot pass yet");
  }
}

// The slot behind a tensor argument; the error text is built only when the lookup fails.
SlotPtr lookupArg(Napi::Env env, const OpEntry& op, const c10::Argument& a, const Napi::Value& v) {
  SlotPtr s = tryLookup(v);
  if (s) return s;
  return lookup(env, v, (op.name + ": argument '" + a.name() + "'").c_str());
}

Arg convert(Napi::Env env, const OpEntry& op, const c10::Argument& a, const Napi::Value& v) {
  Arg out;
  const c10::TypePtr& real = a.real_type();
  if (v.IsUndefined() || v.IsNull()) {
    if (a.default_value()) {
      out.value = *a.default_value();
      return out;
    }
    if (real->kind() == c10::TypeKind::OptionalType) return out;  // None
    badArg(env, op, a, "is required");
  }
  c10::TypePtr t = real;
  if (t->kind() == c10::TypeKind::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
  if (t->kind() == c10::TypeKind::TensorType) {
    out.kind = Arg::Tensor;
    out.tensor = lookupArg(env, op, a, v);
    return out;
  }
  if (t->kind() == c10::TypeKind::ListType) {
    auto elem = t->expectRef<c10::ListType>().getElementType();
    bool optElem = elem->kind() == c10::TypeKind::OptionalType;
    auto base = optElem ? elem->expectRef<c10::OptionalType>().getElementType() : elem;
    if (base->kind() == c10::TypeKind::TensorType) {
      if (!v.IsArray()) badArg(env, op, a, "expects an array of tensors");
      auto arr = v.As<Napi::Array>();
      out.kind = optElem ? Arg::OptTensorList : Arg::TensorList;
      for (uint32_t i = 0; i < arr.Length(); i++) {
        Napi::Value x = arr.Get(i);
        if (optElem && (x.IsNull() || x.IsUndefined())) {
          out.tensors.push_back(nullptr);
        } else {
          out.tensors.push_back(lookupArg(env, op, a, x));
        }
      }
      return out;
    }
  }
  if (t->kind() == c10::TypeKind::GeneratorType) badArg(env, op, a, "cannot be given from JS yet (leave it undefined)");
  out.value = toValue(env, op, a, t, v);
  return out;
}

Ret classify(const c10::Argument& r) {
  if (r.alias_info() && r.alias_info()->isWrite()) return Ret::Alias;
  const auto& t = r.type();
  if (t->kind() == c10::TypeKind::TensorType) return Ret::Tensor;
  if (t->kind() == c10::TypeKind::OptionalType &&
      t->expectRef<c10::OptionalType>().getElementType()->kind() == c10::TypeKind::TensorType)
    return Ret::OptTensor;
  if (t->kind() == c10::TypeKind::ListType &&
      t->expectRef<c10::ListType>().getElementType()->kind() == c10::TypeKind::TensorType)
    return Ret::TensorList;
  return Ret::Value;
}

Napi::Value ivalueToJs(Napi::Env env, const c10::IValue& v) {
  if (v.isNone()) return env.Undefined();
  if (v.isInt()) return Napi::Number::New(env, static_cast<double>(v.toInt()));
  if (v.isDouble()) return Napi::Number::New(env, v.toDouble());
  if (v.isBool()) return Napi::Boolean::New(env, v.toBool());
  if (v.isString()) return Napi::String::New(env, v.toStringRef());
  if (v.isIntList()) {
    auto l = v.toIntVector();
    Napi::Array arr = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) arr.Set(i, Napi::Number::New(env, static_cast<double>(l[i])));
    return arr;
  }
  if (v.isDoubleList()) {
    auto l = v.toDoubleVector();
    Napi::Array arr = Napi::Array::New(env, l.size());
    for (size_t i = 0; i < l.size(); i++) arr.Set(i, Napi::Number::New(env, l[i]));
    return arr;
  }
  if (v.isScalar()) {
    auto s = v.toScalar();
    if (s.isBoolean()) return Napi::Boolean::New(env, s.toBool());
    return Napi::Number::New(env, s.toDouble());
  }
  if (v.isDevice()) return Napi::String::New(env, v.toDevice().str());
  return Napi::String::New(env, v.tagKind());
}

// callOp's result: one value, an array for several returns, undefined for none
Napi::Value pack(Napi::Env env, const std::vector<Napi::Value>& results) {
  if (results.empty()) return env.Undefined();
  if (results.size() == 1) return results[0];
  Napi::Array arr = Napi::Array::New(env, results.size());
  for (size_t i = 0; i < results.size(); i++) arr.Set(i, results[i]);
  return arr;
}

size_t resolve(Napi::Env env, const std::string& name, const std::string& overload) {
  std::string key = name + "." + overload;
  auto it = registryIndex.find(key);
  if (it != registryIndex.end()) return it->second;
  auto handle = c10::Dispatcher::singleton().findSchema({name, overload});
  if (!handle) {
    throw Napi::Error::New(env, "unknown op " + name + (overload.empty() ? "" : "." + overload) +
                                    " (no such schema in the linked libtorch)");
  }
  OpEntry e{*handle, overload.empty() ? name : key, {}, false};
  for (const auto& r : handle->schema().returns()) {
    Ret k = classify(r);
    e.returns.push_back(k);
    if (k == Ret::Value || k == Ret::TensorList) e.valueReturns = true;
  }
  registry.push_back(std::move(e));
  registryIndex[key] = registry.size() - 1;
  return registry.size() - 1;
}

// resolveOp("aten::add", "Tensor") -> { id, returns: ["Tensor", ...] }
Napi::Value ResolveOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  size_t id = resolve(env, info[0].As<Napi::String>(), info[1].As<Napi::String>());
  const OpEntry& e = registry[id];
  Napi::Object out = Napi::Object::New(env);
  out.Set("id", Napi::Number::New(env, static_cast<double>(id)));
  Napi::Array rets = Napi::Array::New(env, e.returns.size());
  static const char* names[] = {"Tensor", "Tensor?", "Tensor[]", "alias", "value"};
  for (size_t i = 0; i < e.returns.size(); i++) rets.Set(i, names[static_cast<int>(e.returns[i])]);
  out.Set("returns", rets);
  // indices of the arguments an op writes (self of in-place ops, out= tensors), in order: the
  // k-th aliasing return is the k-th written argument
  Napi::Array writes = Napi::Array::New(env);
  const auto& params = e.handle.schema().arguments();
  for (size_t i = 0, n = 0; i < params.size(); i++) {
    if (params[i].alias_info() && params[i].alias_info()->isWrite()) writes.Set(n++, Napi::Number::New(env, i));
  }
  out.Set("writes", writes);
  Napi::Array argNames = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); i++) argNames.Set(i, params[i].name());
  out.Set("args", argNames);
  // which arguments take tensors: a Tensor given anywhere else would cross as its handle id,
  // a plain number (zeros([t]) would allocate id-many elements), so the caller refuses it
  Napi::Array tensorArgs = Napi::Array::New(env, params.size());
  for (size_t i = 0; i < params.size(); i++) {
    c10::TypePtr t = params[i].real_type();
    if (t->kind() == c10::TypeKind::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
    if (t->kind() == c10::TypeKind::ListType) t = t->expectRef<c10::ListType>().getElementType();
    if (t->kind() == c10::TypeKind::OptionalType) t = t->expectRef<c10::OptionalType>().getElementType();
    tensorArgs.Set(i, Napi::Boolean::New(env, t->kind() == c10::TypeKind::TensorType));
  }
  out.Set("tensorArgs", tensorArgs);
  return out;
}

// callOp(id, args[]) -> result: one value, an array for several returns, undefined for none.
// Tensor results are new handle ids; results that alias an input (in-place and out= ops)
// come back as null, and the caller returns the tensor it passed.
Napi::Value CallOp(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  if (id >= registry.size()) throw Napi::Error::New(env, "callOp: bad op id");
  const OpEntry& op = registry[id];
  const auto& schema = op.handle.schema();
  const auto& params = schema.arguments();
  Napi::Array jsArgs = info[1].As<Napi::Array>();
  if (jsArgs.Length() > params.size()) {
    throw Napi::TypeError::New(env, op.name + ": takes " + std::to_string(params.size()) + " arguments, got " +
                                        std::to_string(jsArgs.Length()));
  }
  std::vector<Arg> args;
  args.reserve(params.size());
  for (size_t i = 0; i < params.size(); i++) {
    args.push_back(convert(env, op, params[i], i < jsArgs.Length() ? jsArgs.Get(i) : env.Undefined()));
  }
  const ExecMode& mode = currentMode();

  if (op.valueReturns || !asyncActive()) {
    // run here, now (after any queued work, also work of a runAsync block that already closed),
    // and convert the results directly
    drain();
    torch::jit::Stack stack;
    try {
      stack.reserve(args.size());
      for (auto& a : args) stack.push_back(a.materialise());
      ModeGuard guard(mode);
      op.handle.callBoxed(&stack);
    } catch (...) {
      rethrowAsJs(env, op.name);
    }
    std::vector<Napi::Value> results;
    for (size_t i = 0; i < op.returns.size(); i++) {
      c10::IValue& v = stack[i];
      switch (op.returns[i]) {
        case Ret::Alias:
          results.push_back(env.Null());
          break;
        case Ret::Tensor:
          results.push_back(newTensor(env, v.toTensor()));
          break;
        case Ret::OptTensor:
          results.push_back(v.isNone() ? env.Undefined() : newTensor(env, v.toTensor()));
          break;
        case Ret::TensorList: {
          auto list = v.toTensorVector();
          Napi::Array arr = Napi::Array::New(env, list.size());
          for (size_t j = 0; j < list.size(); j++) arr.Set(j, newTensor(env, list[j]));
          results.push_back(arr);
          break;
        }
        case Ret::Value:
          results.push_back(ivalueToJs(env, v));
          break;
      }
    }
    return pack(env, results);
  }

  // async: allocate the output handles now, fill them when the compute thread runs the op
  std::vector<SlotPtr> outs;
  std::vector<Napi::Value> results;
  for (Ret r : op.returns) {
    if (r == Ret::Alias) {
      outs.push_back(nullptr);
      results.push_back(env.Null());
    } else {
      auto slot = std::make_shared<Slot>();
      outs.push_back(slot);
      results.push_back(Napi::Number::New(env, newHandle(slot)));
    }
  }
  // the queued work owns its arguments and a copy of the modes; the op's entry stays put
  auto shared = std::make_shared<std::vector<Arg>>(std::move(args));
  const OpEntry* entry = &op;
  ExecMode modeCopy = mode;
  run(env, [shared, modeCopy, entry, outs]() {
    torch::jit::Stack stack;
    ModeGuard guard(modeCopy);
    try {
      stack.reserve(shared->size());
      for (auto& a : *shared) stack.push_back(a.materialise());
      entry->handle.callBoxed(&stack);
    } catch (const std::exception& e) {
      throw std::runtime_error(entry->name + ": " + cleanMessage(e.what()));
    }
    for (size_t i = 0; i < outs.size(); i++) {
      if (outs[i] && !stack[i].isNone()) outs[i]->t = stack[i].toTensor();
    }
  });
  return pack(env, results);
}

// listSchemas() -> every registered op schema as text, for the TypeScript generator
Napi::Value ListSchemas(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto names = c10::Dispatcher::singleton().getAllOpNames();
  Napi::Array out = Napi::Array::New(env);
  uint32_t n = 0;
  for (const auto& name : names) {
    auto h = c10::Dispatcher::singleton().findSchema(name);
    if (!h) continue;
    const auto& s = h->schema();
    Napi::Object o = Napi::Object::New(env);
    o.Set("name", s.name());
    o.Set("overload", s.overload_name());
    o.Set("schema", c10::toString(s));
    Napi::Array args = Napi::Array::New(env, s.arguments().size());
    for (size_t i = 0; i < s.arguments().size(); i++) {
      const auto& a = s.arguments()[i];
      Napi::Object ao = Napi::Object::New(env);
      ao.Set("name", a.name());
      ao.Set("type", a.real_type()->annotation_str());
      ao.Set("hasDefault", a.default_value().has_value());
      ao.Set("kwargOnly", a.kwarg_only());
      ao.Set("write", Napi::Boolean::New(env, a.alias_info() && a.alias_info()->isWrite()));
      args.Set(i, ao);
    }
    o.Set("args", args);
    Napi::Array rets = Napi::Array::New(env, s.returns().size());
    for (size_t i = 0; i < s.returns().size(); i++) {
      const auto& r = s.returns()[i];
      Napi::Object ro = Napi::Object::New(env);
      ro.Set("type", r.real_type()->annotation_str());
      ro.Set("alias", Napi::Boolean::New(env, r.alias_info() && r.alias_info()->isWrite()));
      rets.Set(i, ro);
    }
    o.Set("returns", rets);
    out.Set(n++, o);
  }
  return out;
}

}  // namespace

void initOps(Napi::Env env, Napi::Object exports) {
  exports.Set("resolveOp", Napi::Function::New(env, ResolveOp));
  exports.Set("callOp", Napi::Function::New(env, CallOp));
  exports.Set("listSchemas", Napi::Function::New(env, ListSchemas));
}

}  // namespace segkit
