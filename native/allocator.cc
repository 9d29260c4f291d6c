// A caching CPU allocator. glibc serves large blocks with mmap and returns them with munmap, so
// every training step page-faults its activations back in and the kernel zero-fills them: on a
// UNet step that was about a quarter of all CPU time. Blocks of 1 MiB and more are kept on free
// lists and handed out again for the next request that fits (best fit, wasting at most a quarter
// of the block), which a training or inference loop makes every iteration. Smaller blocks go to
// malloc.
#include "runtime.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/impl/alloc_cpu.h>
#include <mutex>
#include <algorithm>
#include <map>
#include <unordered_map>

namespace segkit {
namespace {

constexpr size_t kMinCached = 1 << 20;
constexpr size_t kPage = 4096;

struct Cache {
  std::mutex mu;
  // idle blocks by size, and the same blocks by age (when they were released) for eviction
  std::multimap<size_t, std::pair<void*, uint64_t>> free;
  std::map<uint64_t, std::multimap<size_t, std::pair<void*, uint64_t>>::iterator> byAge;
  uint64_t clock = 0;
  std::unordered_map<void*, size_t> large;               // every large block, in use or idle
  size_t cachedBytes = 0;
  size_t limit = SIZE_MAX;                               // idle bytes kept at most
};

// Never destroyed: tensors may still be freed while the process exits.
Cache& cache() {
  static Cache* c = new Cache;
  return *c;
}

// Frees idle blocks until at most `keep` idle bytes remain. Call with the lock held.
void trimLocked(Cache& c, size_t keep) {
  // least recently released first: the blocks a loop stopped asking for
  while (!c.byAge.empty() && c.cachedBytes > keep) {
    auto it = c.byAge.begin()->second;
    void* p = it->second.first;
    c.large.erase(p);
    c.cachedBytes -= it->first;
    c10::free_cpu(p);
    c.free.erase(it);
    c.byAge.erase(c.byAge.begin());
  }
}

void release(void* p) {
  if (!p) return;
  Cache& c = cache();
  {
    std::lock_guard<std::mutex> lock(c.mu);
    auto it = c.large.find(p);
    if (it != c.large.end()) {
      uint64_t t = ++c.clock;
      c.byAge[t] = c.free.emplace(it->second, std::make_pair(p, t));
      c.cachedBytes += it->second;
      if (c.cachedBytes > c.limit) trimLocked(c, c.limit);
      return;
    }
  }
  c10::free_cpu(p);
}

class CachingCPUAllocator final : public at::Allocator {
 public:
  at::DataPtr allocate(size_t n) const override {
    if (n < kMinCached) {
      void* p = c10::alloc_cpu(n);
      return {p, p, &c10::free_cpu, at::Device(at::kCPU)};  // never cached: no lookup when freed
    }
    size_t rounded = (n + kPage - 1) / kPage * kPage;
    Cache& c = cache();
    {
      std::lock_guard<std::mutex> lock(c.mu);
      auto it = c.free.lower_bound(rounded);
      if (it != c.free.end() && it->first <= rounded + rounded / 4) {
        void* p = it->second.first;
        c.cachedBytes -= it->first;
        c.byAge.erase(it->second.second);
        c.free.erase(it);
        return {p, p, &release, at::Device(at::kCPU)};
      }
    }
    void* p;
    try {
      p = c10::alloc_cpu(rounded);
    } catch (const std::exception&) {
      emptyCache();  // out of memory: give the idle blocks back and try once more
      p = c10::alloc_cpu(rounded);
    }
    std::lock_guard<std::mutex> lock(c.mu);
    c.large[p] = rounded;
    return {p, p, &release, at::Device(at::kCPU)};
  }
  at::DeleterFnPtr raw_deleter() const override { return &release; }
};

CachingCPUAllocator* instance = nullptr;

}  // namespace

void emptyCache() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  trimLocked(c, 0);
}

size_t cachedBytes() {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  return c.cachedBytes;
}

void setCacheLimit(size_t bytes) {
  Cache& c = cache();
  std::lock_guard<std::mutex> lock(c.mu);
  c.limit = bytes;
  trimLocked(c, bytes);
}

void installAllocator() {
  if (instance) return;
  instance = new CachingCPUAllocator;
  c10::SetCPUAllocator(instance, /*priority=*/10);
}

}  // namespace segkit
