// The backward products of lowbit/backward.h on ResNet-18's layers C2..C12 (REFERENCE.md section
// 2, batch 1) and on a Fashion-MNIST CNN's layers (batch 32): dX = dY x W (then col2im) and
// dW = dY^T x im2col(X), exact sums, one thread unless --threads says otherwise.
//
// Rows: "<layer>/<dX|dW>/<config>", config dY<bits> x W/X<bits> (dY and W signed, X unsigned, as
// a gradient, weights and ReLU activations are), LB_AUTO; "int16" is the baseline: the 16-bit
// vpmaddwd-class kernel (LB_DIRECT on a 9-bit signed dY by 8-bit signed operands held in 16-bit
// codes, as in lowbit-bench-resnet: 9 bits are the narrowest no 8-bit kernel takes, where a VNNI
// u8s8 kernel would take s8 x s8; full-range 16-bit values would need int64 sums and make the
// kernel widen at every K step, a baseline slower than need be), the same operator and
// calls; the row fails if it did not get a 16-bit kernel. A row times one lb_*_backward_data or
// lb_*_backward_weights call (the operator, with W^T packed, is made before timing): packing of
// dY (and X^T), the kernels, col2im. GOPS counts 2 x the product's multiply-adds (those of the
// forward layer). "vs_int16" is the row's rate over its layer's and product's int16 row, measured
// in the same run just before it; the table after the run repeats them.
//
// Usage: lowbit-bench-backward [--threads=T] [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/backward.h"
#include "support/operands.h"

namespace {

struct LayerShape {
  std::string name;
  size_t batch, size, in_c, out_c;
  unsigned kernel, stride;
  bool same, dense;
};

struct Config {
  std::string name;
  lb_operand dy, w, x;
  lb_strategy_choice strategy;
};

using Buffer = std::unique_ptr<void, decltype(&std::free)>;

lb_conv2d_backward_desc conv_desc(const LayerShape &l, const Config &cfg, unsigned threads) {
  lb_conv2d_backward_desc d;
  std::memset(&d, 0, sizeof d);
  d.forward.batch = l.batch;
  d.forward.in_h = d.forward.in_w = l.size;
  d.forward.in_c = l.in_c;
  d.forward.out_c = l.out_c;
  d.forward.kernel_h = d.forward.kernel_w = l.kernel;
  d.forward.stride_h = d.forward.stride_w = l.stride;
  d.forward.dilation_h = d.forward.dilation_w = 1;
  d.forward.groups = 1;
  d.forward.a = cfg.x;
  d.forward.w = cfg.w;
  if (l.same) {
    lb_conv2d_pad_same(&d.forward);
  }
  d.dy = cfg.dy;
  d.strategy = cfg.strategy;
  d.threads = threads;
  return d;
}

// The layer's operator, data and output, made before timing; ok is false (and the state skipped)
// when it cannot be built.
struct Layer {
  Buffer dy{nullptr, std::free}, x{nullptr, std::free}, w{nullptr, std::free};
  std::vector<int64_t> out;
  lb_conv2d_backward *conv = nullptr;
  lb_dense_backward *dense = nullptr;
  size_t out_pixels = 1, macs = 0;
  bool ok = false;
  Layer(benchmark::State &state, const LayerShape &l, const Config &cfg, unsigned threads) {
    const lb_conv2d_backward_desc d = conv_desc(l, cfg, threads);
    if (!l.dense) {
      out_pixels = lb_conv2d_out_h(&d.forward) * lb_conv2d_out_w(&d.forward);
    }
    const size_t k = static_cast<size_t>(l.kernel) * l.kernel * l.in_c;
    const size_t in_pixels = l.dense ? 1 : l.size * l.size;
    macs = l.batch * out_pixels * l.out_c * k;
    uint64_t rng = 5;
    dy.reset(lb_test_matrix(cfg.dy, l.batch * out_pixels, l.out_c, l.out_c, LB_FILL_RANDOM, &rng));
    x.reset(lb_test_matrix(cfg.x, l.batch * in_pixels, l.in_c, l.in_c, LB_FILL_RANDOM, &rng));
    w.reset(lb_test_matrix(cfg.w, l.out_c, k, k, LB_FILL_RANDOM, &rng));
    out.resize(std::max(l.batch * in_pixels * l.in_c, l.out_c * k));
    lb_status status = LB_OUT_OF_MEMORY;
    if (dy && x && w && l.dense) {
      lb_dense_backward_desc dd;
      std::memset(&dd, 0, sizeof dd);
      dd.forward.batch = l.batch;
      dd.forward.in_c = l.in_c;
      dd.forward.out_c = l.out_c;
      dd.forward.a = cfg.x;
      dd.forward.w = cfg.w;
      dd.dy = cfg.dy;
      dd.strategy = cfg.strategy;
      dd.threads = threads;
      status = lb_dense_backward_create(&dd, w.get(), &dense);
    } else if (dy && x && w) {
      status = lb_conv2d_backward_create(&d, w.get(), &conv);
    }
    ok = status == LB_OK;
    if (!ok) {
      state.SkipWithError(lb_status_string(status));
    }
  }
  ~Layer() {
    lb_conv2d_backward_destroy(conv);
    lb_dense_backward_destroy(dense);
  }
  const lb_gemm_kernel_info *kernel(bool data) const {
    if (dense != nullptr) {
      return data ? lb_dense_backward_data_kernel(dense) : lb_dense_backward_weights_kernel(dense);
    }
    return data ? lb_conv2d_backward_data_kernel(conv) : lb_conv2d_backward_weights_kernel(conv);
  }
  lb_status run(bool data) {
    if (dense != nullptr) {
      return data ? lb_dense_backward_data(dense, dy.get(), out.data())
                  : lb_dense_backward_weights(dense, dy.get(), x.get(), out.data());
    }
    return data ? lb_conv2d_backward_data(conv, dy.get(), out.data())
                : lb_conv2d_backward_weights(conv, dy.get(), x.get(), out.data());
  }
};

// The int16 rate of each "<layer>/<product>", for the rows after it; every row's rate for the
// table.
std::map<std::string, double> baseline_rate, row_rate;

void run_product(benchmark::State &state, LayerShape l, Config cfg, bool data, unsigned threads) {
  Layer layer(state, l, cfg, threads);
  if (!layer.ok) {
    return;
  }
  const std::string key = l.name + (data ? "/dX" : "/dW");
  const lb_gemm_kernel_info *kernel = layer.kernel(data);
  if (cfg.name == "int16" && (kernel->a_format != LB_CODE_S16 || kernel->w_format != LB_CODE_S16)) {
    state.SkipWithError("the baseline did not get a 16-bit kernel");
    return;
  }
  state.SetLabel(std::string(data ? "dX = col2im(dY x W), " : "dW = dY^T x im2col(X), ") +
                 "exact sums, kernel " + kernel->name);
  const double ops = 2.0 * static_cast<double>(layer.macs);
  state.counters["OPS"] = benchmark::Counter(ops, benchmark::Counter::kIsIterationInvariantRate);
  const auto start = std::chrono::steady_clock::now();
  for (auto _ : state) {
    if (layer.run(data) != LB_OK) {
      state.SkipWithError("run failed");
      return;
    }
    benchmark::DoNotOptimize(layer.out.data());
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const double rate = seconds > 0 ? ops * static_cast<double>(state.iterations()) / seconds : 0;
  row_rate[key + "/" + cfg.name] = rate;
  if (cfg.name == "int16") {
    baseline_rate[key] = rate;
  }
  const auto base = baseline_rate.find(key);
  if (base != baseline_rate.end() && base->second > 0) {
    state.counters["vs_int16"] = rate / base->second;
  }
}

} // namespace

int main(int argc, char **argv) {
  unsigned threads = 1;
  std::vector<char *> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      char *end = nullptr;
      const unsigned long t = std::strtoul(argv[i] + 10, &end, 10);
      if (*end != '\0' || t < 1 || t > 64) {
        std::fprintf(stderr, "lowbit-bench-backward: bad --threads '%s' (want 1..64)\n",
                     argv[i] + 10);
        return 2;
      }
      threads = static_cast<unsigned>(t);
    } else {
      rest.push_back(argv[i]);
    }
  }
  const std::vector<LayerShape> layers = {
      {"C2", 1, 56, 64, 64, 3, 1, true, false},
      {"C3", 1, 56, 64, 64, 1, 1, false, false},
      {"C4", 1, 56, 64, 128, 3, 2, true, false},
      {"C5", 1, 56, 64, 128, 1, 2, false, false},
      {"C6", 1, 28, 128, 128, 3, 1, true, false},
      {"C7", 1, 28, 128, 256, 3, 2, true, false},
      {"C8", 1, 28, 128, 256, 1, 2, false, false},
      {"C9", 1, 14, 256, 256, 3, 1, true, false},
      {"C10", 1, 14, 256, 512, 3, 2, true, false},
      {"C11", 1, 14, 256, 512, 1, 2, false, false},
      {"C12", 1, 7, 512, 512, 3, 1, true, false},
      {"FM-conv1", 32, 28, 1, 32, 5, 1, true, false},
      {"FM-conv2", 32, 14, 32, 64, 5, 1, true, false},
      {"FM-fc1", 32, 1, 3136, 128, 1, 1, false, true},
      {"FM-fc2", 32, 1, 128, 10, 1, 1, false, true},
  };
  const lb_operand s8 = {8, LB_SIGNED}, s9 = {9, LB_SIGNED};
  const std::vector<Config> configs = {
      {"int16", s9, s8, s8, LB_DIRECT}, // the baseline, first in each layer and product
      {"dY8xWX8", {8, LB_SIGNED}, {8, LB_SIGNED}, {8, LB_UNSIGNED}, LB_AUTO},
      {"dY8xWX4", {8, LB_SIGNED}, {4, LB_SIGNED}, {4, LB_UNSIGNED}, LB_AUTO},
      {"dY8xWX2", {8, LB_SIGNED}, {2, LB_SIGNED}, {2, LB_UNSIGNED}, LB_AUTO},
      {"dY4xWX2", {4, LB_SIGNED}, {2, LB_SIGNED}, {2, LB_UNSIGNED}, LB_AUTO},
  };
  for (const LayerShape &l : layers) {
    for (const bool data : {true, false}) {
      for (const Config &cfg : configs) {
        const std::string name = l.name + (data ? "/dX/" : "/dW/") + cfg.name;
        benchmark::RegisterBenchmark(name.c_str(), run_product, l, cfg, data, threads)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  std::printf("cpu: %s, threads %u; ResNet-18 C2..C12 batch 1, Fashion-MNIST CNN batch 32\n",
              lb_cpu_description(), threads);
  benchmark::RunSpecifiedBenchmarks();
  std::printf("\nGOPS (2 x multiply-adds per second) and speedup over the int16 row\n%-14s",
              "layer/product");
  for (const Config &cfg : configs) {
    std::printf(" %18s", cfg.name.c_str());
  }
  std::printf("\n");
  for (const LayerShape &l : layers) {
    for (const char *product : {"/dX", "/dW"}) {
      const std::string key = l.name + product;
      std::printf("%-14s", key.c_str());
      const auto base = baseline_rate.find(key);
      for (const Config &cfg : configs) {
        const auto r = row_rate.find(key + "/" + cfg.name);
        if (r == row_rate.end()) {
          std::printf(" %18s", "-");
        } else if (base != baseline_rate.end() && base->second > 0) {
          std::printf(" %9.1f (%5.2fx)", r->second / 1e9, r->second / base->second);
        } else {
          std::printf(" %18.1f", r->second / 1e9);
        }
      }
      std::printf("\n");
    }
  }
  return 0;
}
