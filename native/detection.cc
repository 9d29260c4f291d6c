// CPU kernels of the detection ops (src/detection/nms.ts, roi-align.ts), registered as libtorch
// ops in the "segkit" namespace so that JavaScript calls them through the generic op entry
// (op('segkit::nms', ...)) like any ATen op. Each follows torchvision 0.14's CPU kernel step for
// step in the input's dtype, so the kept boxes and the pooled values are torchvision's bit for bit
// (the tests in test/detection/ hold them to torchvision's fixtures).
//
// - segkit::nms: torchvision's nms_kernel (stable sort by score, greedy scan, IoU > threshold).
// - segkit::batched_nms_per_category: torchvision's _batched_nms_vanilla (one nms per category,
//   then the kept indices by score) in one call instead of one call per category.
// - segkit::roi_align: the RoIAlign forward without autograd, on NCHW or channels-last input
//   (channels-last reads each sample's C values as one contiguous row). JavaScript uses it when no
//   gradient is wanted; with autograd it uses segkit::roi_align_plan with ATen's embedding_bag.
// - segkit::roi_align_plan: the (pixel, weight) pairs of every output bin, for that path.
//
// Vectorising the channel loops keeps each lane's arithmetic (no fast-math, no FMA contraction
// on the x86-64 baseline), so O3 changes the speed, not the values.
#pragma GCC optimize("O3")

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <torch/library.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

namespace segkit {
namespace {

// ---- NMS ----

// The greedy scan over boxes visited in `order` (indices into x1..areas); returns the kept ones.
// The boxes are first gathered in visiting order, so that the test of one kept box against every
// later box runs over contiguous arrays without branches (each pair's arithmetic is the kernel's;
// marking an already suppressed box again changes nothing), and the compiler vectorises it.
template <typename T>
void greedy(const T* x1, const T* y1, const T* x2, const T* y2, const T* areas, const int64_t* order, int64_t n,
            double thr, std::vector<int64_t>& keep) {
  std::vector<T> bx1(n), by1(n), bx2(n), by2(n), ba(n);
  for (int64_t a = 0; a < n; a++) {
    const int64_t i = order[a];
    bx1[a] = x1[i], by1[a] = y1[i], bx2[a] = x2[i], by2[a] = y2[i], ba[a] = areas[i];
  }
  // `ovr > thr` compares in double; for float32 boxes the same test in float is ovr > the largest
  // float not above thr
  T t = static_cast<T>(thr);
  if (static_cast<double>(t) > thr) t = std::nextafter(t, -std::numeric_limits<T>::infinity());
  std::vector<int32_t> suppressed(n, 0);
  keep.clear();
  const T* __restrict X1 = bx1.data();
  const T* __restrict Y1 = by1.data();
  const T* __restrict X2 = bx2.data();
  const T* __restrict Y2 = by2.data();
  const T* __restrict A = ba.data();
  int32_t* __restrict sup = suppressed.data();
  for (int64_t a = 0; a < n; a++) {
    if (sup[a]) continue;
    keep.push_back(order[a]);
    const T ix1 = X1[a], iy1 = Y1[a], ix2 = X2[a], iy2 = Y2[a], iarea = A[a];
    for (int64_t b = a + 1; b < n; b++) {
      const T xx1 = std::max(ix1, X1[b]);
      const T yy1 = std::max(iy1, Y1[b]);
      const T xx2 = std::min(ix2, X2[b]);
      const T yy2 = std::min(iy2, Y2[b]);
      const T w = std::max(static_cast<T>(0), xx2 - xx1);
      const T h = std::max(static_cast<T>(0), yy2 - yy1);
      const T inter = w * h;
      const T ovr = inter / (iarea + A[b] - inter);
      sup[b] |= (ovr > t) ? -1 : 0;
    }
  }
}

// Columns of (N, 4) boxes as contiguous arrays, and the areas (x2 - x1) * (y2 - y1) as the kernel
// computes them with ATen.
struct Columns {
  at::Tensor x1, y1, x2, y2, areas;
  explicit Columns(const at::Tensor& dets)
      : x1(dets.select(1, 0).contiguous()),
        y1(dets.select(1, 1).contiguous()),
        x2(dets.select(1, 2).contiguous()),
        y2(dets.select(1, 3).contiguous()),
        areas((x2 - x1) * (y2 - y1)) {}
};

void checkNmsInputs(const char* who, const at::Tensor& dets, const at::Tensor& scores) {
  TORCH_CHECK(dets.device().is_cpu() && scores.device().is_cpu(), who, ": CPU tensors only");
  TORCH_CHECK(dets.dim() == 2 && dets.size(1) == 4, who, ": boxes must be (N, 4), got ", dets.sizes());
  TORCH_CHECK(scores.dim() == 1 && scores.size(0) == dets.size(0), who, ": scores must be (N) to match the boxes");
  TORCH_CHECK(dets.scalar_type() == scores.scalar_type(), who, ": boxes and scores must have the same dtype");
  TORCH_CHECK(dets.scalar_type() == at::kFloat || dets.scalar_type() == at::kDouble, who, ": float32 or float64 boxes only");
}

at::Tensor nmsImpl(const at::Tensor& dets, const at::Tensor& scores, double thr) {
  const int64_t n = dets.size(0);
  if (n == 0) return at::empty({0}, dets.options().dtype(at::kLong));
  Columns c(dets);
  const at::Tensor order = std::get<1>(scores.sort(/*stable=*/true, /*dim=*/0, /*descending=*/true)).contiguous();
  std::vector<int64_t> keep;
  AT_DISPATCH_FLOATING_TYPES(dets.scalar_type(), "segkit_nms", [&] {
    greedy<scalar_t>(c.x1.data_ptr<scalar_t>(), c.y1.data_ptr<scalar_t>(), c.x2.data_ptr<scalar_t>(),
                     c.y2.data_ptr<scalar_t>(), c.areas.data_ptr<scalar_t>(), order.data_ptr<int64_t>(), n, thr, keep);
  });
  at::Tensor out = at::empty({static_cast<int64_t>(keep.size())}, dets.options().dtype(at::kLong));
  std::copy(keep.begin(), keep.end(), out.data_ptr<int64_t>());
  return out;
}

at::Tensor nms(const at::Tensor& dets, const at::Tensor& scores, double iouThreshold) {
  checkNmsInputs("segkit::nms", dets, scores);
  return nmsImpl(dets, scores, iouThreshold);
}

// torchvision's _batched_nms_vanilla: per category (in increasing order, members by index), the
// nms of its boxes marks the kept ones; the kept indices come back ordered by score with the
// default (unstable) sort, the op torchvision's Python calls.
at::Tensor batchedNmsPerCategory(const at::Tensor& dets, const at::Tensor& scores, const at::Tensor& idxs, double thr) {
  checkNmsInputs("segkit::batched_nms_per_category", dets, scores);
  TORCH_CHECK(idxs.dim() == 1 && idxs.size(0) == dets.size(0), "segkit::batched_nms_per_category: idxs must be (N)");
  const int64_t n = dets.size(0);
  if (n == 0) return at::empty({0}, dets.options().dtype(at::kLong));
  const at::Tensor cats = idxs.to(at::kLong).contiguous();
  const int64_t* cat = cats.data_ptr<int64_t>();
  std::map<int64_t, std::vector<int64_t>> members;
  for (int64_t i = 0; i < n; i++) members[cat[i]].push_back(i);
  std::vector<uint8_t> kept(n, 0);
  for (auto& [category, ids] : members) {
    const at::Tensor sel = at::from_blob(ids.data(), {static_cast<int64_t>(ids.size())}, at::kLong);
    const at::Tensor keep = nmsImpl(dets.index_select(0, sel), scores.index_select(0, sel), thr);
    const int64_t* k = keep.data_ptr<int64_t>();
    for (int64_t i = 0; i < keep.numel(); i++) kept[ids[k[i]]] = 1;
  }
  std::vector<int64_t> keepIds;
  for (int64_t i = 0; i < n; i++)
    if (kept[i]) keepIds.push_back(i);
  const at::Tensor keepIndices = at::from_blob(keepIds.data(), {static_cast<int64_t>(keepIds.size())}, at::kLong).clone();
  const at::Tensor byScore = std::get<1>(at::sort(scores.index_select(0, keepIndices), /*dim=*/0, /*descending=*/true));
  return keepIndices.index_select(0, byScore);
}

// ---- RoIAlign ----

struct Geometry {
  int64_t n, h, w, ph, pw;
  double scale;
  int64_t sampling;
  bool aligned;
};

// One bilinear sample: the four pixel offsets (within a map) and weights; valid = false when the
// sample lies more than one pixel outside the map (or is NaN), where the kernel adds nothing.
template <typename T>
struct Sample {
  int64_t p1, p2, p3, p4;
  T w1, w2, w3, w4;
};

template <typename T>
bool bilinear(T y, T x, int64_t h, int64_t w, Sample<T>& s) {
  if (!(y >= -1.0 && y <= h && x >= -1.0 && x <= w)) return false;
  if (y <= 0) y = 0;
  if (x <= 0) x = 0;
  int64_t yLow = static_cast<int64_t>(y), xLow = static_cast<int64_t>(x), yHigh, xHigh;
  if (yLow >= h - 1) {
    yHigh = yLow = h - 1;
    y = static_cast<T>(yLow);
  } else {
    yHigh = yLow + 1;
  }
  if (xLow >= w - 1) {
    xHigh = xLow = w - 1;
    x = static_cast<T>(xLow);
  } else {
    xHigh = xLow + 1;
  }
  const T ly = y - yLow, lx = x - xLow;
  const T hy = 1. - ly, hx = 1. - lx;
  s = {yLow * w + xLow, yLow * w + xHigh, yHigh * w + xLow, yHigh * w + xHigh, hy * hx, hy * lx, ly * hx, ly * lx};
  return true;
}

// The samples of every bin of one box, bin after bin (`starts` has ph·pw + 1 entries), in the
// kernel's order of operations; returns the divisor (samples per bin, at least 1).
template <typename T>
T boxSamples(const T* roi, const Geometry& g, std::vector<Sample<T>>& samples, std::vector<int64_t>& starts) {
  const T offset = g.aligned ? T(0.5) : T(0);
  const T scale = static_cast<T>(g.scale);
  const T startW = roi[1] * scale - offset;
  const T startH = roi[2] * scale - offset;
  const T endW = roi[3] * scale - offset;
  const T endH = roi[4] * scale - offset;
  T roiW = endW - startW;
  T roiH = endH - startH;
  if (!g.aligned) {
    roiW = std::max(roiW, static_cast<T>(1.));
    roiH = std::max(roiH, static_cast<T>(1.));
  }
  const T binH = roiH / static_cast<T>(g.ph);
  const T binW = roiW / static_cast<T>(g.pw);
  const int64_t gridH = g.sampling > 0 ? g.sampling : static_cast<int64_t>(std::ceil(roiH / static_cast<T>(g.ph)));
  const int64_t gridW = g.sampling > 0 ? g.sampling : static_cast<int64_t>(std::ceil(roiW / static_cast<T>(g.pw)));
  samples.clear();
  starts.clear();
  for (int64_t ph = 0; ph < g.ph; ph++) {
    for (int64_t pw = 0; pw < g.pw; pw++) {
      starts.push_back(static_cast<int64_t>(samples.size()));
      for (int64_t iy = 0; iy < gridH; iy++) {
        const T y = startH + ph * binH + static_cast<T>(iy + .5f) * binH / static_cast<T>(gridH);
        for (int64_t ix = 0; ix < gridW; ix++) {
          const T x = startW + pw * binW + static_cast<T>(ix + .5f) * binW / static_cast<T>(gridW);
          Sample<T> s;
          if (bilinear(y, x, g.h, g.w, s)) samples.push_back(s);
        }
      }
    }
  }
  starts.push_back(static_cast<int64_t>(samples.size()));
  return static_cast<T>(std::max<int64_t>(gridH * gridW, 1));
}

// Every box's batch index must name an image of the batch (truncated toward zero, as the kernel's
// cast): checked before any work, in box order, so the error names the first bad box.
template <typename T>
void checkBatchIndices(const T* rois, int64_t k, int64_t n) {
  for (int64_t i = 0; i < k; i++) {
    const T b = rois[i * 5];
    TORCH_CHECK(b > -1 && b < n, "roiAlign: box ", i, " has batch index ", b, ", outside the input's batch of ", n);
  }
}

void checkRois(const at::Tensor& input, const at::Tensor& rois) {
  TORCH_CHECK(input.device().is_cpu() && rois.device().is_cpu(), "segkit::roi_align: CPU tensors only");
  TORCH_CHECK(input.dim() == 4, "roiAlign: input must be (N, C, H, W), got ", input.sizes());
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, "roiAlign: boxes must be (K, 5), got ", rois.sizes());
  TORCH_CHECK(input.scalar_type() == rois.scalar_type(), "roiAlign: boxes and input must have the same dtype");
  TORCH_CHECK(input.scalar_type() == at::kFloat || input.scalar_type() == at::kDouble, "segkit::roi_align: float32 or float64 only");
}

// Channels-last input: each sample reads four contiguous rows of C values; a bin's sum is kept in
// a row of C accumulators, added to in the kernel's order (w1·v1 + w2·v2 + w3·v3 + w4·v4 per sample).
template <typename T>
void poolChannelsLast(const T* in, const T* rois, T* out, int64_t k, int64_t c, const Geometry& g) {
  const int64_t bins = g.ph * g.pw;
  at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<T>> samples;
    std::vector<int64_t> starts;
    std::vector<T> acc(c);
    for (int64_t r = begin; r < end; r++) {
      const T count = boxSamples<T>(rois + r * 5, g, samples, starts);
      const T* base = in + static_cast<int64_t>(rois[r * 5]) * g.h * g.w * c;
      T* o = out + r * c * bins;
      for (int64_t bin = 0; bin < bins; bin++) {
        T* __restrict a = acc.data();
        std::fill(acc.begin(), acc.end(), T(0));
        for (int64_t s = starts[bin]; s < starts[bin + 1]; s++) {
          const Sample<T>& sm = samples[s];
          const T* __restrict v1 = base + sm.p1 * c;
          const T* __restrict v2 = base + sm.p2 * c;
          const T* __restrict v3 = base + sm.p3 * c;
          const T* __restrict v4 = base + sm.p4 * c;
          const T w1 = sm.w1, w2 = sm.w2, w3 = sm.w3, w4 = sm.w4;
          for (int64_t ch = 0; ch < c; ch++) a[ch] += w1 * v1[ch] + w2 * v2[ch] + w3 * v3[ch] + w4 * v4[ch];
        }
        for (int64_t ch = 0; ch < c; ch++) o[ch * bins + bin] = a[ch] / count;
      }
    }
  });
}

// NCHW input: torchvision's loop, channel by channel over the box's samples.
template <typename T>
void poolNchw(const T* in, const T* rois, T* out, int64_t k, int64_t c, const Geometry& g) {
  const int64_t bins = g.ph * g.pw;
  const int64_t plane = g.h * g.w;
  at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
    std::vector<Sample<T>> samples;
    std::vector<int64_t> starts;
    for (int64_t r = begin; r < end; r++) {
      const T count = boxSamples<T>(rois + r * 5, g, samples, starts);
      const T* base = in + static_cast<int64_t>(rois[r * 5]) * c * plane;
      for (int64_t ch = 0; ch < c; ch++) {
        const T* v = base + ch * plane;
        T* o = out + (r * c + ch) * bins;
        for (int64_t bin = 0; bin < bins; bin++) {
          T val = 0;
          for (int64_t s = starts[bin]; s < starts[bin + 1]; s++) {
            const Sample<T>& sm = samples[s];
            val += sm.w1 * v[sm.p1] + sm.w2 * v[sm.p2] + sm.w3 * v[sm.p3] + sm.w4 * v[sm.p4];
          }
          o[bin] = val / count;
        }
      }
    }
  });
}

at::Tensor roiAlign(const at::Tensor& input, const at::Tensor& rois, double spatialScale, int64_t pooledH, int64_t pooledW,
                    int64_t samplingRatio, bool aligned) {
  checkRois(input, rois);
  TORCH_CHECK(!(c10::GradMode::is_enabled() && input.requires_grad()),
              "segkit::roi_align has no gradient: use roiAlign (src/detection/roi-align.ts), which picks the differentiable path");
  const int64_t k = rois.size(0), c = input.size(1);
  const Geometry g{input.size(0), input.size(2), input.size(3), pooledH, pooledW, spatialScale, samplingRatio, aligned};
  at::Tensor out = at::empty({k, c, pooledH, pooledW}, input.options());
  if (k == 0) return out;
  const at::Tensor boxes = rois.contiguous();
  // many samples per pixel: one channels-last copy of the map pays for itself (rows of C values
  // instead of four scattered reads per channel); few boxes read the NCHW map where it lies
  const int64_t sampleBound = k * pooledH * pooledW * std::max<int64_t>(samplingRatio, 1) * std::max<int64_t>(samplingRatio, 1);
  const bool nchwInPlace = input.is_contiguous() && sampleBound <= g.n * g.h * g.w;
  AT_DISPATCH_FLOATING_TYPES(input.scalar_type(), "segkit_roi_align", [&] {
    checkBatchIndices<scalar_t>(boxes.data_ptr<scalar_t>(), k, g.n);
    if (!nchwInPlace || c == 1) {
      const at::Tensor x = input.contiguous(at::MemoryFormat::ChannelsLast);
      poolChannelsLast<scalar_t>(x.data_ptr<scalar_t>(), boxes.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), k, c, g);
    } else {
      poolNchw<scalar_t>(input.data_ptr<scalar_t>(), boxes.data_ptr<scalar_t>(), out.data_ptr<scalar_t>(), k, c, g);
    }
  });
  return out;
}

// The sampling plan for roi-align.ts's embedding_bag path: `pixels` (rows of the (N·H·W, C)
// view), their `weights`, where each bin's pairs start (`offsets`, K·ph·pw) and each box's divisor
// (`counts`, K). Pairs of one sample come in the kernel's order (w1..w4).
std::tuple<at::Tensor, at::Tensor, at::Tensor, at::Tensor> roiAlignPlan(const at::Tensor& rois, int64_t n, int64_t h, int64_t w,
                                                                      double spatialScale, int64_t pooledH, int64_t pooledW,
                                                                      int64_t samplingRatio, bool aligned) {
  TORCH_CHECK(rois.device().is_cpu(), "segkit::roi_align_plan: CPU boxes only");
  TORCH_CHECK(rois.dim() == 2 && rois.size(1) == 5, "roiAlign: boxes must be (K, 5), got ", rois.sizes());
  TORCH_CHECK(rois.scalar_type() == at::kFloat || rois.scalar_type() == at::kDouble, "segkit::roi_align_plan: float32 or float64 boxes only");
  const int64_t k = rois.size(0), bins = pooledH * pooledW;
  const Geometry g{n, h, w, pooledH, pooledW, spatialScale, samplingRatio, aligned};
  const at::Tensor boxes = rois.contiguous();
  at::Tensor offsets = at::empty({k * bins}, rois.options().dtype(at::kLong));
  at::Tensor counts = at::empty({k}, rois.options());
  at::Tensor pixels, weights;
  AT_DISPATCH_FLOATING_TYPES(rois.scalar_type(), "segkit_roi_align_plan", [&] {
    // per box in parallel, then concatenated in box order
    std::vector<std::vector<Sample<scalar_t>>> perBox(k);
    std::vector<std::vector<int64_t>> startsOf(k);
    std::vector<int64_t> base(k);
    scalar_t* cnt = counts.data_ptr<scalar_t>();
    const scalar_t* r = boxes.data_ptr<scalar_t>();
    checkBatchIndices<scalar_t>(r, k, n);
    at::parallel_for(0, k, 1, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; i++) {
        cnt[i] = boxSamples<scalar_t>(r + i * 5, g, perBox[i], startsOf[i]);
        base[i] = static_cast<int64_t>(r[i * 5]) * h * w;
      }
    });
    int64_t total = 0;
    for (auto& s : perBox) total += 4 * static_cast<int64_t>(s.size());
    pixels = at::empty({total}, rois.options().dtype(at::kLong));
    weights = at::empty({total}, rois.options());
    int64_t* px = pixels.data_ptr<int64_t>();
    scalar_t* wt = weights.data_ptr<scalar_t>();
    int64_t* off = offsets.data_ptr<int64_t>();
    int64_t pos = 0;
    for (int64_t i = 0; i < k; i++) {
      for (int64_t b = 0; b < bins; b++) off[i * bins + b] = pos + 4 * startsOf[i][b];
      for (const auto& s : perBox[i]) {
        px[pos] = base[i] + s.p1, wt[pos++] = s.w1;
        px[pos] = base[i] + s.p2, wt[pos++] = s.w2;
        px[pos] = base[i] + s.p3, wt[pos++] = s.w3;
        px[pos] = base[i] + s.p4, wt[pos++] = s.w4;
      }
    }
  });
  return {pixels, weights, offsets, counts};
}

}  // namespace
}  // namespace segkit

TORCH_LIBRARY(segkit, m) {
  m.def("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor", &segkit::nms);
  m.def("batched_nms_per_category(Tensor dets, Tensor scores, Tensor idxs, float iou_threshold) -> Tensor", &segkit::batchedNmsPerCategory);
  m.def("roi_align(Tensor input, Tensor rois, float spatial_scale, int pooled_height, int pooled_width, int sampling_ratio, bool aligned) -> Tensor",
        &segkit::roiAlign);
  m.def("roi_align_plan(Tensor rois, int n, int height, int width, float spatial_scale, int pooled_height, int pooled_width, int sampling_ratio, bool aligned) -> (Tensor, Tensor, Tensor, Tensor)",
        &segkit::roiAlignPlan);
}
