// ResNet-18's C2 layer (56x56x64, 3x3, 64 filters, SAME, batch 1) as a conv2d operator against
// lb_gemm on the same layer's im2col GEMM (M = 56*56, N = 64, K = 3*3*64), both through the same
// kernel, one thread unless --threads says otherwise, in the same run.
//
// Rows: "<config>/operator" times lb_conv2d_run with prepacked weights (activation packing
// through the indirection buffer, the GEMM, the output stage: exact sums); "<config>/gemm" times
// lb_gemm on an im2col matrix built before timing (packing of A and W included, as lb_gemm does).
// The table after the run gives the operator's cost on top of the GEMM in percent.
//
// Usage: lowbit-bench-operator [--threads=T] [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/operators.h"
#include "support/operands.h"

namespace {

constexpr size_t kSize = 56, kChannels = 64, kFilters = 64, kTaps = 9;

struct Config {
  std::string name;
  lb_operand a, w;
  lb_strategy_choice strategy;
};

lb_conv2d_desc c2_desc(const Config& cfg, unsigned threads) {
  lb_conv2d_desc d;
  std::memset(&d, 0, sizeof d);
  d.batch = 1;
  d.in_h = d.in_w = kSize;
  d.in_c = kChannels;
  d.out_c = kFilters;
  d.kernel_h = d.kernel_w = 3;
  d.stride_h = d.stride_w = d.dilation_h = d.dilation_w = 1;
  d.groups = 1;
  d.a = cfg.a;
  d.w = cfg.w;
  d.strategy = cfg.strategy;
  d.threads = threads;
  d.output = LB_OUTPUT_SUMS;
  lb_conv2d_pad_same(&d);
  return d;
}

using Buffer = std::unique_ptr<void, decltype(&std::free)>;

// The im2col matrix of an NHWC image for a 3x3 SAME layer: row = output pixel, K = tap, channel;
// padded taps are zeros (the configurations here have a value 0).
Buffer im2col(const void* input, size_t bytes) {
  Buffer a(std::calloc(kSize * kSize * kTaps * kChannels, bytes), std::free);
  const auto* in = static_cast<const unsigned char*>(input);
  auto* out = static_cast<unsigned char*>(a.get());
  for (size_t y = 0; y < kSize; y++) {
    for (size_t x = 0; x < kSize; x++) {
      for (size_t t = 0; t < kTaps; t++) {
        const long iy = static_cast<long>(y + t / 3) - 1, ix = static_cast<long>(x + t % 3) - 1;
        if (iy < 0 || ix < 0 || iy >= static_cast<long>(kSize) || ix >= static_cast<long>(kSize)) {
          continue;
        }
        std::memcpy(out + ((y * kSize + x) * kTaps + t) * kChannels * bytes,
                    in + (static_cast<size_t>(iy) * kSize + static_cast<size_t>(ix)) * kChannels * bytes,
                    kChannels * bytes);
      }
    }
  }
  return a;
}

void set_counters(benchmark::State& state) {
  state.counters["OPS"] =
      benchmark::Counter(2.0 * kSize * kSize * kFilters * kTaps * kChannels,
                         benchmark::Counter::kIsIterationInvariantRate);
}

// The layer's data and its operator; op is NULL (and the state skipped) when it cannot be built.
struct Layer {
  Buffer input{nullptr, std::free}, weights{nullptr, std::free};
  lb_conv2d* op = nullptr;
  Layer(benchmark::State& state, const Config& cfg, unsigned threads) {
    uint64_t rng = 11;
    input.reset(lb_test_matrix(cfg.a, kSize * kSize, kChannels, kChannels, LB_FILL_RANDOM, &rng));
    weights.reset(lb_test_matrix(cfg.w, kFilters, kTaps * kChannels, kTaps * kChannels,
                                 LB_FILL_RANDOM, &rng));
    const lb_conv2d_desc desc = c2_desc(cfg, threads);
    if (!input || !weights || lb_conv2d_create(&desc, weights.get(), &op) != LB_OK) {
      op = nullptr;
      state.SkipWithError("cannot create the operator");
      return;
    }
    state.SetLabel(lb_conv2d_kernel(op)->name);
  }
  ~Layer() { lb_conv2d_destroy(op); }
};

void run_operator(benchmark::State& state, Config cfg, unsigned threads) {
  set_counters(state);
  const Layer layer(state, cfg, threads);
  if (layer.op == nullptr) {
    return;
  }
  std::vector<int64_t> out(kSize * kSize * kFilters);
  for (auto _ : state) {
    if (lb_conv2d_run(layer.op, layer.input.get(), out.data()) != LB_OK) {
      state.SkipWithError("run failed");
      break;
    }
    benchmark::DoNotOptimize(out.data());
  }
}

void run_gemm(benchmark::State& state, Config cfg, unsigned threads) {
  set_counters(state);
  const Layer layer(state, cfg, threads);
  if (layer.op == nullptr) {
    return;
  }
  // The operator's kernel, so that both rows run the same one.
  const lb_gemm_kernel_info* kernel = lb_conv2d_kernel(layer.op);
  const Buffer& input = layer.input;
  const Buffer& weights = layer.weights;
  const Buffer a = im2col(input.get(), lb_test_elem_bytes(cfg.a));
  const size_t m = kSize * kSize, k = kTaps * kChannels;
  std::vector<int64_t> c(m * kFilters);
  const lb_gemm_desc gemm = {cfg.a, cfg.w, cfg.strategy, kernel, threads};
  for (auto _ : state) {
    if (lb_gemm(&gemm, m, kFilters, k, a.get(), k, weights.get(), k, c.data(), kFilters) != LB_OK) {
      state.SkipWithError("lb_gemm failed");
      break;
    }
    benchmark::DoNotOptimize(c.data());
  }
}

// Keeps each row's median rate for the table.
class MedianReporter : public benchmark::ConsoleReporter {
 public:
  MedianReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      const auto it = r.counters.find("OPS");
      if (it != r.counters.end() && (r.run_type == Run::RT_Iteration || r.aggregate_name == "median")) {
        medians[r.run_name.function_name] = it->second.value;
      }
    }
  }
  std::map<std::string, double> medians;
};

}  // namespace

int main(int argc, char** argv) {
  unsigned threads = 1;
  std::vector<char*> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      char* end = nullptr;
      const unsigned long t = std::strtoul(argv[i] + 10, &end, 10);
      if (*end != '\0' || t < 1 || t > 64) {
        std::fprintf(stderr, "lowbit-bench-operator: bad --threads '%s' (want 1..64)\n",
                     argv[i] + 10);
        return 2;
      }
      threads = static_cast<unsigned>(t);
    } else {
      rest.push_back(argv[i]);
    }
  }
  const std::vector<Config> configs = {
      {"int16", {8, LB_SIGNED}, {8, LB_SIGNED}, LB_DIRECT},  // s8 data in the s16 kernel
      {"A2W2", {2, LB_UNSIGNED}, {2, LB_UNSIGNED}, LB_BITSERIAL},
      {"A1W1", {1, LB_UNSIGNED}, {1, LB_UNSIGNED}, LB_BITSERIAL},
  };
  for (const Config& cfg : configs) {
    benchmark::RegisterBenchmark((cfg.name + "/operator").c_str(), run_operator, cfg, threads)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
    benchmark::RegisterBenchmark((cfg.name + "/gemm").c_str(), run_gemm, cfg, threads)
        ->Unit(benchmark::kMillisecond)
        ->UseRealTime();
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  std::printf("cpu: %s, threads %u; ResNet-18 C2 (56x56x64, 3x3, 64 filters, SAME)\n",
              lb_cpu_description(), threads);
  MedianReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  std::printf("\n%-8s %12s %12s %16s\n", "config", "op GOPS", "gemm GOPS", "op over gemm");
  for (const Config& cfg : configs) {
    const auto op = reporter.medians.find(cfg.name + "/operator");
    const auto gemm = reporter.medians.find(cfg.name + "/gemm");
    if (op == reporter.medians.end() || gemm == reporter.medians.end() || op->second <= 0) {
      continue;
    }
    std::printf("%-8s %12.1f %12.1f %+15.1f%%\n", cfg.name.c_str(), op->second / 1e9,
                gemm->second / 1e9, 100.0 * (gemm->second / op->second - 1.0));
  }
  return 0;
}
