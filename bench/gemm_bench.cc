// GEMM speed of lowbit's kernels against the 16-bit baseline, measured in the same run.
//
// The baseline is the registry's int16 direct kernel (format s16: vpmaddwd / smlal, int32
// accumulators) on 16-bit operands holding 8-bit data, so that it never widens: the fastest
// exact int16 GEMM we have. Each configuration runs through lb_gemm (packing A and W included,
// as for the baseline), one thread unless --threads says otherwise.
//
// Usage: lowbit-bench-gemm [--shape=MxNxK] [--threads=T] [Google Benchmark flags]
// Default shape: ResNet-18 C2 as im2col GEMM, M = 56*56, N = 64, K = 3*3*64.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lowbit/lowbit.h"
#include "support/operands.h"

namespace {

struct Shape {
  size_t m = 3136, n = 64, k = 576;
};

struct Config {
  std::string label;
  lb_operand a, w;
  lb_strategy_choice strategy;
  bool baseline;
};

const lb_gemm_kernel_info* baseline_kernel(lb_operand a, lb_operand w) {
  const lb_gemm_kernel_info* best = nullptr;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info* k = lb_gemm_kernel_at(i);
    if (k->strategy == LB_STRATEGY_DIRECT && k->a_format == LB_CODE_S16 &&
        k->w_format == LB_CODE_S16 && lb_gemm_kernel_supports(k, a, w) &&
        (best == nullptr || std::strcmp(best->isa, "generic") == 0)) {
      best = k;
    }
  }
  return best;
}

void run_gemm(benchmark::State& state, Config cfg, Shape shape, unsigned threads) {
  uint64_t rng = 7;
  // The baseline holds 8-bit data in 16-bit operands; its element type is the 16-bit one.
  lb_operand a = cfg.a, w = cfg.w;
  const lb_gemm_kernel_info* kernel = nullptr;
  if (cfg.baseline) {
    kernel = baseline_kernel(a, w);
    if (kernel == nullptr) {
      state.SkipWithError("no s16 direct kernel");
      return;
    }
  }
  const std::unique_ptr<void, decltype(&std::free)> A(
      lb_test_matrix(a, shape.m, shape.k, shape.k, LB_FILL_RANDOM, &rng), std::free);
  const std::unique_ptr<void, decltype(&std::free)> W(
      lb_test_matrix(w, shape.n, shape.k, shape.k, LB_FILL_RANDOM, &rng), std::free);
  if (!A || !W) {
    state.SkipWithError("out of memory");
    return;
  }
  std::vector<int64_t> C(shape.m * shape.n);
  const lb_gemm_desc desc = {a, w, cfg.strategy, kernel, threads};
  const lb_gemm_kernel_info* used = kernel ? kernel : lb_gemm_select(a, w, cfg.strategy);
  if (used == nullptr) {
    state.SkipWithError("no kernel");
    return;
  }
  for (auto _ : state) {
    const lb_status st = lb_gemm(&desc, shape.m, shape.n, shape.k, A.get(), shape.k, W.get(),
                                 shape.k, C.data(), shape.n);
    if (st != LB_OK) {
      state.SkipWithError(lb_status_string(st));
      return;
    }
    benchmark::DoNotOptimize(C.data());
  }
  state.SetLabel(used->name);
  state.counters["OPS"] = benchmark::Counter(2.0 * shape.m * shape.n * shape.k,
                                             benchmark::Counter::kIsIterationInvariantRate);
}

// Keeps the median of each configuration to print the speedup table after the run.
class TableReporter : public benchmark::ConsoleReporter {
 public:
  // Plain text: the table is read from logs as often as from a terminal.
  TableReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& r : runs) {
      if (r.run_type == Run::RT_Aggregate && r.aggregate_name == "median") {
        const auto it = r.counters.find("OPS");
        if (it != r.counters.end()) {
          medians_[r.run_name.function_name] = {it->second.value, r.report_label};
        }
      }
    }
  }
  struct Result {
    double ops;
    std::string kernel;
  };
  const std::map<std::string, Result>& medians() const { return medians_; }

 private:
  std::map<std::string, Result> medians_;
};

bool parse_shape(const char* s, Shape* shape) {
  char tail = 0;
  return std::sscanf(s, "%zux%zux%zu%c", &shape->m, &shape->n, &shape->k, &tail) == 3 &&
         shape->m > 0 && shape->n > 0 && shape->k > 0;
}

}  // namespace

int main(int argc, char** argv) {
  Shape shape;
  unsigned threads = 1;
  std::vector<char*> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--shape=", 8) == 0) {
      if (!parse_shape(argv[i] + 8, &shape)) {
        std::fprintf(stderr, "lowbit-bench-gemm: bad --shape '%s' (want MxNxK)\n", argv[i] + 8);
        return 2;
      }
    } else if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      char* end = nullptr;
      const unsigned long t = std::strtoul(argv[i] + 10, &end, 10);
      if (*end != '\0' || t == 0 || t > 256) {
        std::fprintf(stderr, "lowbit-bench-gemm: bad --threads '%s' (want 1..256)\n", argv[i] + 10);
        return 2;
      }
      threads = static_cast<unsigned>(t);
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;

  const Config configs[] = {
      {"int16 baseline", {8, LB_SIGNED}, {8, LB_SIGNED}, LB_DIRECT, true},
      {"A8W8 direct", {8, LB_UNSIGNED}, {8, LB_SIGNED}, LB_DIRECT, false},
      {"A3W1 bitserial", {3, LB_UNSIGNED}, {1, LB_UNSIGNED}, LB_BITSERIAL, false},
      {"A1W3 bitserial", {1, LB_UNSIGNED}, {3, LB_UNSIGNED}, LB_BITSERIAL, false},
      {"A2W2 bitserial", {2, LB_UNSIGNED}, {2, LB_UNSIGNED}, LB_BITSERIAL, false},
      {"A2W1 bitserial", {2, LB_UNSIGNED}, {1, LB_UNSIGNED}, LB_BITSERIAL, false},
      {"A1W1 bitserial", {1, LB_UNSIGNED}, {1, LB_UNSIGNED}, LB_BITSERIAL, false},
      {"A1W1 bipolar xor", {1, LB_BIPOLAR}, {1, LB_BIPOLAR}, LB_BITSERIAL, false},
  };
  for (const Config& cfg : configs) {
    benchmark::RegisterBenchmark(cfg.label.c_str(), run_gemm, cfg, shape, threads)
        ->Unit(benchmark::kMillisecond)
        ->Repetitions(5)
        ->ReportAggregatesOnly(true)
        ->UseRealTime();
  }
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const auto& med = reporter.medians();
  const auto base = med.find(configs[0].label);
  std::printf("\nGEMM M=%zu N=%zu K=%zu, %u thread(s), %s; medians of 5 runs\n", shape.m, shape.n,
              shape.k, threads, lb_cpu_description());
  std::printf("%-18s %-44s %10s %10s\n", "config", "kernel", "GOPS", "vs int16");
  for (const Config& cfg : configs) {
    const auto it = med.find(cfg.label);
    if (it == med.end()) continue;
    const double ratio = base != med.end() ? it->second.ops / base->second.ops : 0.0;
    std::printf("%-18s %-44s %10.1f %9.2fx\n", cfg.label.c_str(), it->second.kernel.c_str(),
                it->second.ops / 1e9, ratio);
  }
  benchmark::Shutdown();
  return 0;
}
