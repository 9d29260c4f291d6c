// Shared state of the segkit addon: the tensor handle table, grad/autocast modes captured per
// op, and the compute queue that lets long work run off the JS thread.
#pragma once
#include <napi.h>
#include <ATen/ATen.h>
#include <functional>
#include <memory>
#include <string>

namespace segkit {

// A native tensor owned by one JS handle. Closures queued for the compute thread hold their own
// shared_ptr, so disposing a handle while work is queued is safe.
struct Slot {
  at::Tensor t;
  std::string error;  // set when the op that should have produced `t` failed asynchronously
};
using SlotPtr = std::shared_ptr<Slot>;

// Handle ids are doubles: index in the low 24 bits, a generation counter above, so a stale id
// of a disposed tensor is detected instead of reaching a newer tensor.
double newHandle(SlotPtr slot);
Napi::Value newTensor(Napi::Env env, at::Tensor t);  // a new slot holding `t`, as a JS handle id
SlotPtr lookup(Napi::Env env, const Napi::Value& id, const char* what);
SlotPtr tryLookup(const Napi::Value& id);  // nullptr when not a live handle
void releaseHandle(double id);
size_t liveHandles();
void forEachLive(const std::function<void(const at::Tensor&)>& fn);
// The tensor of a slot that an op is about to use; throws (std::runtime_error) when it has no
// value because the asynchronous op that should have produced it failed: some kernels and
// autograd setters would dereference or modify libtorch's shared undefined tensor instead.
const at::Tensor& defined(const SlotPtr& s);

// Thread-local modes of libtorch, recorded on the JS thread and applied on whichever thread
// runs the op (the JS thread, or the compute thread in async mode).
struct ExecMode {
  bool grad = true;
  bool inference = false;
  bool autocastCpu = false;
  bool autocastCuda = false;
  at::ScalarType cpuDtype = at::kBFloat16;
  at::ScalarType cudaDtype = at::kHalf;
};
ExecMode& currentMode();  // JS-thread copy, changed by setGradMode etc.

class ModeGuard {
 public:
  explicit ModeGuard(const ExecMode& m);
  ~ModeGuard();
 private:
  at::AutoGradMode grad_;
  c10::optional<c10::InferenceMode> inference_;
  bool touchedAutocast_ = false;
  bool prevCpu_ = false, prevCuda_ = false;
  at::ScalarType prevCpuDtype_, prevCudaDtype_;
};

// Compute queue. In async mode, `run` queues work for the compute thread; otherwise it drains
// any queued work and runs inline. Errors in queued work are collected per batch.
void run(Napi::Env env, std::function<void()> work);
bool asyncActive();
void drain();  // block the JS thread until the compute thread is idle (cheap when it is)
void setThreads(int n);
int threads();

// Caching CPU allocator (allocator.cc)
void installAllocator();
void emptyCache();
size_t cachedBytes();
void setCacheLimit(size_t bytes);

void initRuntime(Napi::Env env, Napi::Object exports);
void initOps(Napi::Env env, Napi::Object exports);
void initTensor(Napi::Env env, Napi::Object exports);

// Converts a C++ exception into a JS Error carrying `context` (the op name) and the message
// without libtorch's C++ backtrace.
[[noreturn]] void rethrowAsJs(Napi::Env env, const std::string& context);
std::string cleanMessage(const std::string& what);

at::ScalarType parseDtype(Napi::Env env, const std::string& s);
std::string dtypeName(at::ScalarType t);

}  // namespace segkit
