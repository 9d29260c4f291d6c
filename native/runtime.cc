#include "runtime.h"

#include <ATen/Parallel.h>
#include <ATen/autocast_mode.h>
#include <atomic>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <sched.h>
#include <dlfcn.h>

namespace segkit {

// ---- handle table (touched only on the JS thread) ----
namespace {
struct Entry {
  SlotPtr slot;
  uint32_t gen = 0;
};
// Never destroyed: destroying it at exit would free the tensors still alive, and the deleter of a
// tensor over JS memory (shareBytes) then calls into Node-API after the environment is gone.
std::vector<Entry>& table = *new std::vector<Entry>;
std::vector<uint32_t> freeList;
size_t live = 0;
constexpr double kIndexSpan = 16777216.0;  // 2^24
}  // namespace

double newHandle(SlotPtr slot) {
  uint32_t index;
  if (!freeList.empty()) {
    index = freeList.back();
    freeList.pop_back();
  } else {
    index = static_cast<uint32_t>(table.size());
    table.emplace_back();
  }
  Entry& e = table[index];
  e.gen += 1;
  e.slot = std::move(slot);
  live += 1;
  return static_cast<double>(e.gen) * kIndexSpan + index;
}

Napi::Value newTensor(Napi::Env env, at::Tensor t) {
  auto slot = std::make_shared<Slot>();
  slot->t = std::move(t);
  return Napi::Number::New(env, newHandle(std::move(slot)));
}

const at::Tensor& defined(const SlotPtr& s) {
  if (!s->t.defined()) {
    throw std::runtime_error("an argument has no value (the asynchronous op that should have produced it failed)");
  }
  return s->t;
}

static Entry* entryFor(double id) {
  if (!(id >= 0 && id < 9007199254740992.0)) return nullptr;  // ids are exact integers below 2^53
  uint64_t raw = static_cast<uint64_t>(id);
  uint32_t index = static_cast<uint32_t>(raw % (1u << 24));
  uint32_t gen = static_cast<uint32_t>(raw / (1u << 24));
  if (index >= table.size()) return nullptr;
  Entry& e = table[index];
  if (e.gen != gen || !e.slot) return nullptr;
  return &e;
}

SlotPtr tryLookup(const Napi::Value& id) {
  if (!id.IsNumber()) return nullptr;
  Entry* e = entryFor(id.As<Napi::Number>().DoubleValue());
  return e ? e->slot : nullptr;
}

SlotPtr lookup(Napi::Env env, const Napi::Value& id, const char* what) {
  if (!id.IsNumber()) {
    throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor");
  }
  double d = id.As<Napi::Number>().DoubleValue();
  // every real handle has a generation >= 1, so smaller numbers are plain values given by mistake
  if (!(d >= kIndexSpan) || d != std::floor(d)) {
    throw Napi::TypeError::New(env, std::string(what) + ": expected a tensor, got the number " + id.ToString().Utf8Value());
  }
  Entry* e = entryFor(d);
  if (!e) {
    throw Napi::Error::New(env, std::string(what) + ": the tensor was already disposed");
  }
  return e->slot;
}

void releaseHandle(double id) {
  Entry* e = entryFor(id);
  if (!e) return;
  e->slot.reset();
  freeList.push_back(static_cast<uint32_t>(e - table.data()));
  live -= 1;
}

size_t liveHandles() { return live; }

void forEachLive(const std::function<void(const at::Tensor&)>& fn) {
  for (auto& e : table) {
    if (e.slot && e.slot->t.defined()) fn(e.slot->t);
  }
}

// ---- modes ----
ExecMode& currentMode() {
  static ExecMode mode;
  return mode;
}

ModeGuard::ModeGuard(const ExecMode& m) : grad_(m.grad) {
  if (m.inference) inference_.emplace(true);
  prevCpu_ = at::autocast::is_cpu_enabled();
  prevCuda_ = at::autocast::is_enabled();
  // the common case: autocast off and wanted off; leave its thread-local state alone
  if (!m.autocastCpu && !m.autocastCuda && !prevCpu_ && !prevCuda_) return;
  touchedAutocast_ = true;
  prevCpuDtype_ = at::autocast::get_autocast_cpu_dtype();
  prevCudaDtype_ = at::autocast::get_autocast_gpu_dtype();
  at::autocast::set_cpu_enabled(m.autocastCpu);
  at::autocast::set_enabled(m.autocastCuda);
  at::autocast::set_autocast_cpu_dtype(m.cpuDtype);
  at::autocast::set_autocast_gpu_dtype(m.cudaDtype);
}

ModeGuard::~ModeGuard() {
  if (!touchedAutocast_) return;
  at::autocast::set_cpu_enabled(prevCpu_);
  at::autocast::set_enabled(prevCuda_);
  at::autocast::set_autocast_cpu_dtype(prevCpuDtype_);
  at::autocast::set_autocast_gpu_dtype(prevCudaDtype_);
  // autocast caches casts of leaf tensors while enabled; drop them once it is off everywhere
  if (!prevCpu_ && !prevCuda_) at::autocast::clear_cache();
}

// ---- compute thread ----
namespace {
struct Batch {
  std::string error;
  Napi::Promise::Deferred* deferred = nullptr;
  napi_threadsafe_function done = nullptr;
};

// Never destroyed: the compute thread still waits on them while the process exits.
std::mutex& mu = *new std::mutex;
std::condition_variable& cv = *new std::condition_variable;      // wakes the compute thread
std::condition_variable& idleCv = *new std::condition_variable;  // wakes the JS thread in drain()
std::deque<std::function<void()>>& queue = *new std::deque<std::function<void()>>;
// queued + running items; changed under `mu`, read without it by drain()'s fast path
std::atomic<size_t> pending{0};
bool workerStarted = false;
bool asyncMode = false;
std::shared_ptr<Batch> openBatch;
std::atomic<int> wantedThreads{1};
int workerThreads = -1;

void workerLoop() {
  for (;;) {
    std::function<void()> item;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [] { return !queue.empty(); });
      item = std::move(queue.front());
      queue.pop_front();
    }
    // OpenMP's thread count is per calling thread: apply the wanted count here too.
    int want = wantedThreads.load();
    if (want != workerThreads) {
      at::set_num_threads(want);
      workerThreads = want;
    }
    item();
    {
      std::lock_guard<std::mutex> lock(mu);
      pending -= 1;
    }
    idleCv.notify_all();
  }
}

void push(std::function<void()> item) {
  if (!workerStarted) {
    std::thread(workerLoop).detach();
    workerStarted = true;
  }
  {
    std::lock_guard<std::mutex> lock(mu);
    queue.push_back(std::move(item));
    pending += 1;
  }
  cv.notify_one();
}
}  // namespace

bool asyncActive() { return asyncMode; }

// Cheap when idle (one atomic load; reading 0 also makes the finished work's writes visible).
// Called before reading any tensor on the JS thread: work queued by a runAsync block may still
// be running after the block closed.
void drain() {
  if (pending.load() == 0) return;
  std::unique_lock<std::mutex> lock(mu);
  idleCv.wait(lock, [] { return pending == 0; });
}

void run(Napi::Env env, std::function<void()> work) {
  if (asyncMode) {
    auto batch = openBatch;
    push([batch, work = std::move(work)]() {
      if (!batch->error.empty()) return;  // an earlier op of this batch failed: skip the rest
      try {
        work();
      } catch (const std::exception& e) {
        batch->error = cleanMessage(e.what());
      }
    });
    return;
  }
  drain();
  work();
}

// libtorch's CPU GEMM goes to OpenBLAS, whose own thread pool ignores at::set_num_threads: left
// alone, with one libtorch thread its idle workers still spin on the other cores (measured: 21 s
// of system time per 25 s of a one-thread training run). Set its count through whichever OpenBLAS
// copies are loaded (libblas.so.3 and libopenblas.so.0 can both be; RTLD_NOLOAD loads nothing).
void setOpenBlasThreads(int n) {
  for (const char* lib : {"libblas.so.3", "libopenblas.so.0"}) {
    void* h = dlopen(lib, RTLD_LAZY | RTLD_NOLOAD);
    if (!h) continue;
    using SetFn = void (*)(int);
    if (auto set = reinterpret_cast<SetFn>(dlsym(h, "openblas_set_num_threads"))) set(n);
    dlclose(h);
  }
}

void setThreads(int n) {
  wantedThreads.store(n);
  at::set_num_threads(n);
  setOpenBlasThreads(n);
}
int threads() { return wantedThreads.load(); }

std::string cleanMessage(const std::string& what) {
  // libtorch appends "Exception raised from ... (most recent call first):" and a C++ backtrace
  std::string msg = what;
  // c10::Error puts it after "Exception raised from ..."; enforce failures (CAFFE_ENFORCE, e.g.
  // out of memory) list the frames directly as "frame #0: ..."
  for (const char* marker : {"\nException raised from", "Exception raised from", "\nframe #0"}) {
    auto pos = msg.find(marker);
    if (pos != std::string::npos) msg = msg.substr(0, pos);
  }
  // "Could not run 'op' with arguments from the 'X' backend" lists every dispatch key after a
  // blank line ("CPU: registered at ..."): keep the explanation, drop the list
  auto list = msg.find("\n\n");
  if (list != std::string::npos && msg.find(": registered at ", list) != std::string::npos) msg = msg.substr(0, list);
  while (!msg.empty() && (msg.back() == '\n' || msg.back() == ' ')) msg.pop_back();
  return msg;
}

void rethrowAsJs(Napi::Env env, const std::string& context) {
  try {
    throw;
  } catch (const Napi::Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Napi::Error::New(env, context + ": " + cleanMessage(e.what()));
  }
}

// ---- JS entry points ----
static Napi::Value BeginAsync(const Napi::CallbackInfo& info) {
  if (asyncMode) throw Napi::Error::New(info.Env(), "runAsync: already inside an async block");
  asyncMode = true;
  openBatch = std::make_shared<Batch>();
  return info.Env().Undefined();
}

static void resolveBatch(napi_env env, napi_value, void* context, void* data) {
  auto* batch = static_cast<std::shared_ptr<Batch>*>(data);
  if (!env) {  // the environment is being torn down (process exit): nothing left to settle
    delete batch;
    return;
  }
  Napi::Env e(env);
  if ((*batch)->error.empty()) {
    (*batch)->deferred->Resolve(e.Undefined());
  } else {
    (*batch)->deferred->Reject(Napi::Error::New(e, (*batch)->error).Value());
  }
  delete (*batch)->deferred;
  napi_release_threadsafe_function((*batch)->done, napi_tsfn_release);
  delete batch;
}

static Napi::Value EndAsync(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!asyncMode) throw Napi::Error::New(env, "runAsync: no async block is open");
  asyncMode = false;
  auto batch = openBatch;
  openBatch.reset();
  batch->deferred = new Napi::Promise::Deferred(env);
  Napi::Promise promise = batch->deferred->Promise();
  napi_value name;
  napi_create_string_utf8(env, "segkit.runAsync", NAPI_AUTO_LENGTH, &name);
  napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, nullptr,
                                  resolveBatch, &batch->done);
  push([batch]() {
    napi_call_threadsafe_function(batch->done, new std::shared_ptr<Batch>(batch), napi_tsfn_blocking);
  });
  return promise;
}

static Napi::Value Sync(const Napi::CallbackInfo& info) {
  drain();
  return info.Env().Undefined();
}

static Napi::Value SetMode(const Napi::CallbackInfo& info) {
  // setMode(grad, inference, autocastCpu, autocastCuda, cpuDtype, cudaDtype)
  Napi::Env env = info.Env();
  ExecMode& m = currentMode();
  m.grad = info[0].As<Napi::Boolean>();
  m.inference = info[1].As<Napi::Boolean>();
  m.autocastCpu = info[2].As<Napi::Boolean>();
  m.autocastCuda = info[3].As<Napi::Boolean>();
  m.cpuDtype = parseDtype(env, info[4].As<Napi::String>());
  m.cudaDtype = parseDtype(env, info[5].As<Napi::String>());
  return env.Undefined();
}

static Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  int n = info[0].As<Napi::Number>().Int32Value();
  if (n < 1) throw Napi::RangeError::New(info.Env(), "setNumThreads: need at least 1 thread, got " + std::to_string(n));
  drain();
  setThreads(n);
  return info.Env().Undefined();
}

static Napi::Value GetThreads(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), threads());
}

static Napi::Value Memory(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  drain();
  std::unordered_set<const void*> seen;
  double bytes = 0;
  forEachLive([&](const at::Tensor& t) {
    if (!t.has_storage()) return;
    const void* key = t.storage().unsafeGetStorageImpl();
    if (seen.insert(key).second) bytes += static_cast<double>(t.storage().nbytes());
  });
  Napi::Object out = Napi::Object::New(env);
  out.Set("tensors", Napi::Number::New(env, static_cast<double>(liveHandles())));
  out.Set("bytes", Napi::Number::New(env, bytes));
  out.Set("cachedBytes", Napi::Number::New(env, static_cast<double>(cachedBytes())));
  return out;
}

static int availableCores() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

static Napi::Value EmptyCache(const Napi::CallbackInfo& info) {
  drain();
  emptyCache();
  return info.Env().Undefined();
}

static Napi::Value SetCacheLimit(const Napi::CallbackInfo& info) {
  double bytes = info[0].As<Napi::Number>().DoubleValue();
  if (!(bytes >= 0)) throw Napi::RangeError::New(info.Env(), "setCacheLimit: bytes must be >= 0");
  setCacheLimit(bytes >= 1.8e19 ? SIZE_MAX : static_cast<size_t>(bytes));
  return info.Env().Undefined();
}

void initRuntime(Napi::Env env, Napi::Object exports) {
  // SEGKIT_CACHING_ALLOCATOR=0 leaves libtorch's default CPU allocator in place
  const char* caching = std::getenv("SEGKIT_CACHING_ALLOCATOR");
  if (!caching || std::string(caching) != "0") installAllocator();
  setThreads(availableCores());
  exports.Set("emptyCache", Napi::Function::New(env, EmptyCache));
  exports.Set("setCacheLimit", Napi::Function::New(env, SetCacheLimit));
  exports.Set("beginAsync", Napi::Function::New(env, BeginAsync));
  exports.Set("endAsync", Napi::Function::New(env, EndAsync));
  exports.Set("sync", Napi::Function::New(env, Sync));
  exports.Set("setMode", Napi::Function::New(env, SetMode));
  exports.Set("setNumThreads", Napi::Function::New(env, SetThreads));
  exports.Set("getNumThreads", Napi::Function::New(env, GetThreads));
  exports.Set("memory", Napi::Function::New(env, Memory));
}

}  // namespace segkit
