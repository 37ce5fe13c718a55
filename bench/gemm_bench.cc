// GEMM speed of lowbit's kernels against the 16-bit baseline, measured in the same run.
//
// The baseline is the registry's int16 direct kernel of the SIMD ISA (format s16: vpmaddwd /
// smlal, int32 accumulators) on signed 8-bit data, packed into 16-bit codes: with 8-bit data it
// never widens, so it is the fastest exact int16 GEMM we have. Every row runs through lb_gemm
// (packing A and W included, as for the baseline), one thread unless --threads says otherwise.
//
// A row's name is "<config>/<route>": the config spells the bits (A3W2: 3-bit A, 2-bit W, unsigned
// unless the table says otherwise; a trailing b is bipolar), the route says how its kernel was
// chosen: "bitserial" and "direct" are lb_gemm_select with LB_BITSERIAL and LB_DIRECT, "and" and
// "xor" the registry's bit-serial kernel of that pass, "baseline" the s16 kernel. The label is the
// kernel that ran; the counter "pairs" is abits x wbits in planes. lowbit-crossover pairs each
// "<config>/bitserial" row with its "<config>/direct" row; --crossover adds the rows it needs.
//
// Usage: lowbit-bench-gemm [--shape=MxNxK] [--threads=T] [--crossover] [Google Benchmark flags]
// Default shape: ResNet-18 C2 as im2col GEMM, M = 56*56, N = 64, K = 3*3*64.
#include <benchmark/benchmark.h>

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

enum class Route { kBaseline, kBitserial, kDirect, kAnd, kXor };

struct Row {
  std::string name;
  std::string measures;  // the table's words for what the row measures, besides its kernel
  lb_operand a, w;
  Route route;
};

bool is_simd(const lb_gemm_kernel_info* k) { return std::strcmp(k->isa, "generic") != 0; }

// The first supporting kernel of a strategy (and, for the baseline, of format s16), one of a SIMD
// ISA when there is one: the registry lists generic kernels first.
const lb_gemm_kernel_info* registry_kernel(int strategy, bool s16_only, lb_operand a,
                                           lb_operand w) {
  const lb_gemm_kernel_info* best = nullptr;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info* k = lb_gemm_kernel_at(i);
    if (k->strategy != strategy || !lb_gemm_kernel_supports(k, a, w)) continue;
    if (s16_only && (k->a_format != LB_CODE_S16 || k->w_format != LB_CODE_S16)) continue;
    // A SIMD kernel first, then one with its plane weights as constants.
    const bool specialized = k->abits != 0 && k->wbits != 0;
    const bool best_specialized = best != nullptr && best->abits != 0 && best->wbits != 0;
    if (best == nullptr || (!is_simd(best) && is_simd(k)) ||
        (is_simd(best) == is_simd(k) && specialized && !best_specialized)) {
      best = k;
    }
  }
  return best;
}

const lb_gemm_kernel_info* row_kernel(const Row& row, size_t k) {
  switch (row.route) {
    case Route::kBaseline:
      return registry_kernel(LB_STRATEGY_DIRECT, true, row.a, row.w);
    case Route::kBitserial:
      return lb_gemm_select(row.a, row.w, LB_BITSERIAL, k);
    case Route::kDirect:
      return lb_gemm_select(row.a, row.w, LB_DIRECT, k);
    case Route::kAnd:
      return registry_kernel(LB_STRATEGY_BITSERIAL, false, row.a, row.w);
    case Route::kXor:
      return registry_kernel(LB_STRATEGY_BITSERIAL_XOR, false, row.a, row.w);
  }
  return nullptr;
}

unsigned planes(lb_operand op) { return op.encoding == LB_BIPOLAR ? 1 : op.bits; }

void run_gemm(benchmark::State& state, const Row& row, Shape shape, unsigned threads) {
  // Every row carries the same counters, even one that fails: the CSV header is the first row's.
  state.counters["pairs"] = planes(row.a) * planes(row.w);
  state.counters["OPS"] = benchmark::Counter(2.0 * shape.m * shape.n * shape.k,
                                             benchmark::Counter::kIsIterationInvariantRate);
  const lb_gemm_kernel_info* kernel = row_kernel(row, shape.k);
  if (kernel == nullptr) {
    state.SkipWithError("no kernel for this row");
    return;
  }
  state.SetLabel(kernel->name);
  uint64_t rng = 7;
  const std::unique_ptr<void, decltype(&std::free)> A(
      lb_test_matrix(row.a, shape.m, shape.k, shape.k, LB_FILL_RANDOM, &rng), std::free);
  const std::unique_ptr<void, decltype(&std::free)> W(
      lb_test_matrix(row.w, shape.n, shape.k, shape.k, LB_FILL_RANDOM, &rng), std::free);
  if (!A || !W) {
    state.SkipWithError("out of memory");
    return;
  }
  std::vector<int64_t> C(shape.m * shape.n);
  // The kernel is passed explicitly so that the row runs exactly the kernel its label names.
  const lb_gemm_desc desc = {row.a, row.w, LB_AUTO, kernel, threads};
  for (auto _ : state) {
    const lb_status st = lb_gemm(&desc, shape.m, shape.n, shape.k, A.get(), shape.k, W.get(),
                                 shape.k, C.data(), shape.n);
    if (st != LB_OK) {
      state.SkipWithError(lb_status_string(st));
      return;
    }
    benchmark::DoNotOptimize(C.data());
  }
}

// Keeps the median of each row to print the speedup table after the run.
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

constexpr lb_operand U(unsigned bits) { return {bits, LB_UNSIGNED}; }
constexpr lb_operand S(unsigned bits) { return {bits, LB_SIGNED}; }
constexpr lb_operand B1 = {1, LB_BIPOLAR};

// Unsigned x unsigned bit-serial configurations, in plane pairs order; `main` ones are in the
// main job's table, the others only in the --crossover run.
struct Config {
  unsigned abits, wbits;
  bool main;
};
constexpr Config kConfigs[] = {{1, 1, true},  {2, 1, true},  {3, 1, true},  {1, 3, true},
                               {2, 2, true},  {4, 1, false}, {3, 2, false}, {4, 2, false},
                               {3, 3, false}, {4, 4, false}};

// A8W8 and A7W8 are the usual quantized layer: unsigned activations, signed weights. LB_DIRECT
// gives full-range A8W8 the s16 kernel, because the AVX2 u8s8 kernel (vpmaddubsw) saturates its
// 16-bit pair sums past 127 x 128 per product; 7-bit activations fit it exactly.
// With `crossover`, every bit-serial row has its LB_DIRECT row next to it, and the bit-serial rows
// go up to 64 plane pairs (the any-planes kernel where no specialized one exists).
std::vector<Row> benchmark_rows(bool crossover) {
  std::vector<Row> rows = {
      {"baseline", "int16 baseline: s8 x s8 in s16 codes", S(8), S(8), Route::kBaseline},
      {"A8W8/direct", "u8 x s8, LB_DIRECT", U(8), S(8), Route::kDirect},
      {"A7W8/direct", "u7 x s8, LB_DIRECT", U(7), S(8), Route::kDirect},
      {"A1W1b/and", "b1 x b1, AND + code-sum correction", B1, B1, Route::kAnd},
      {"A1W1b/xor", "b1 x b1, XOR, C = K - 2T", B1, B1, Route::kXor},
  };
  for (const Config& c : kConfigs) {
    if (!c.main && !crossover) continue;
    const std::string config = "A" + std::to_string(c.abits) + "W" + std::to_string(c.wbits);
    const std::string operands = "u" + std::to_string(c.abits) + " x u" + std::to_string(c.wbits);
    rows.push_back({config + "/bitserial", operands + ", LB_BITSERIAL", U(c.abits), U(c.wbits),
                    Route::kBitserial});
    if (crossover) {
      rows.push_back({config + "/direct", operands + ", LB_DIRECT", U(c.abits), U(c.wbits),
                      Route::kDirect});
    }
  }
  if (crossover) {
    rows.push_back({"A8W8/bitserial", "u8 x s8, LB_BITSERIAL", U(8), S(8), Route::kBitserial});
  }
  return rows;
}

}  // namespace

int main(int argc, char** argv) {
  Shape shape;
  unsigned threads = 1;
  bool crossover = false;
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
    } else if (std::strcmp(argv[i], "--crossover") == 0) {
      crossover = true;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) return 2;

  const std::vector<Row> rows = benchmark_rows(crossover);
  // lowbit-crossover reads these from the head of a result file.
  const std::string shape_text =
      std::to_string(shape.m) + "x" + std::to_string(shape.n) + "x" + std::to_string(shape.k);
  benchmark::AddCustomContext("lowbit_cpu", lb_cpu_description());
  benchmark::AddCustomContext("lowbit_shape", shape_text);
  benchmark::AddCustomContext("lowbit_threads", std::to_string(threads));
  for (const Row& row : rows) {
    benchmark::RegisterBenchmark(row.name.c_str(), run_gemm, row, shape, threads)
        ->Unit(benchmark::kMillisecond)
        ->Repetitions(5)
        ->ReportAggregatesOnly(true)
        ->UseRealTime();
  }
  TableReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);

  const auto& med = reporter.medians();
  const auto base = med.find("baseline");
  std::printf("\nGEMM M=%zu N=%zu K=%zu, %u thread(s), %s; medians of 5 repetitions\n", shape.m,
              shape.n, shape.k, threads, lb_cpu_description());
  std::printf("%-15s %-36s %-44s %8s %9s\n", "row", "measures", "kernel", "GOPS", "vs int16");
  for (const Row& row : rows) {
    const auto it = med.find(row.name);
    if (it == med.end()) continue;
    const double ratio = base != med.end() ? it->second.ops / base->second.ops : 0.0;
    std::printf("%-15s %-36s %-44s %8.1f %8.2fx\n", row.name.c_str(), row.measures.c_str(),
                it->second.kernel.c_str(), it->second.ops / 1e9, ratio);
  }
  benchmark::Shutdown();
  return 0;
}
