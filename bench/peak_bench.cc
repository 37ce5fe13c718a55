// Register-resident peaks of the kernels' inner instruction mixes on the CPU at hand: each row
// runs one kernel family's multiply-accumulate instructions in a loop with no loads and no
// stores, on independent accumulators (12 on zmm, 6 on ymm, where 16 registers hold no more;
// enough to hide each instruction's latency), so that only the ALU ports limit it. A kernel's layer
// rate over the peak of its mix is its share of the machine (scripts/resnet-report.py --peak).
//
// Rows "peak/<mix>@<isa>"; counter GOPS: 2 x MACs per second, where a bit-serial MAC is one 1-bit
// product (a b-bit by c-bit kernel needs b x c of them per MAC of its codes). Mixes:
//   bitserial@avx512  vpandq + vpopcntq + vpaddq on zmm: 512 1-bit MACs per three instructions
//   bitserial@avx2    vpand, vpshufb, vpand, vpshufb, vpaddb, vpaddb on ymm (the AND kernels'
//                     nibble-table count): 256 1-bit MACs per six instructions
//   s16@avx2          vpmaddwd + vpaddd on ymm: 16 int16 MACs per pair (the AVX2 16-bit baseline)
//   u8s8@avx2         vpmaddubsw + vpaddw on ymm: 32 8-bit MACs per pair
//   s16@avx512        vpdpwssd on zmm: 32 int16 MACs per instruction (VNNI)
//   u8s8@avx512       vpdpbusd on zmm: 64 8-bit MACs per instruction (VNNI)
// A row whose ISA the CPU lacks is skipped with an error message (Google Benchmark's
// SkipWithError), never run.
//
// Usage: lowbit-bench-peak [Google Benchmark flags]
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>

namespace {

constexpr uint64_t kIterations = 1 << 14;

#define LB_X12(X) X(2, 16) X(3, 17) X(4, 18) X(5, 19) X(6, 20) X(7, 21) \
                  X(8, 22) X(9, 23) X(10, 24) X(11, 25) X(12, 26) X(13, 27)

#define LB_POPCNT_ZMM(t, a)                                                 \
  "vpandq %%zmm1, %%zmm0, %%zmm" #t "\n\t"                                  \
  "vpopcntq %%zmm" #t ", %%zmm" #t "\n\t"                                   \
  "vpaddq %%zmm" #t ", %%zmm" #a ", %%zmm" #a "\n\t"
#define LB_VPDPWSSD(t, a) "vpdpwssd %%zmm1, %%zmm0, %%zmm" #a "\n\t"
#define LB_VPDPBUSD(t, a) "vpdpbusd %%zmm1, %%zmm0, %%zmm" #a "\n\t"

#define LB_ZMM_CLOBBERS                                                                        \
  "zmm0", "zmm1", "zmm2", "zmm3", "zmm4", "zmm5", "zmm6", "zmm7", "zmm8", "zmm9", "zmm10",      \
      "zmm11", "zmm12", "zmm13", "zmm16", "zmm17", "zmm18", "zmm19", "zmm20", "zmm21", "zmm22", \
      "zmm23", "zmm24", "zmm25", "zmm26", "zmm27", "cc"

__attribute__((target("avx512f,avx512vpopcntdq"))) void popcnt_zmm(uint64_t n) {
  __asm__ volatile("vpternlogq $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                   "vpternlogq $0xff, %%zmm1, %%zmm1, %%zmm1\n\t"
                   "1:\n\t" LB_X12(LB_POPCNT_ZMM) "dec %0\n\t"
                   "jnz 1b\n\t"
                   : "+r"(n)
                   :
                   : LB_ZMM_CLOBBERS);
}

__attribute__((target("avx512f,avx512vnni"))) void vpdpwssd_zmm(uint64_t n) {
  __asm__ volatile("vpternlogq $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                   "vpternlogq $0xff, %%zmm1, %%zmm1, %%zmm1\n\t"
                   "1:\n\t" LB_X12(LB_VPDPWSSD) "dec %0\n\t"
                   "jnz 1b\n\t"
                   : "+r"(n)
                   :
                   : LB_ZMM_CLOBBERS);
}

__attribute__((target("avx512f,avx512vnni"))) void vpdpbusd_zmm(uint64_t n) {
  __asm__ volatile("vpternlogq $0xff, %%zmm0, %%zmm0, %%zmm0\n\t"
                   "vpternlogq $0xff, %%zmm1, %%zmm1, %%zmm1\n\t"
                   "1:\n\t" LB_X12(LB_VPDPBUSD) "dec %0\n\t"
                   "jnz 1b\n\t"
                   : "+r"(n)
                   :
                   : LB_ZMM_CLOBBERS);
}

// AVX2 has 16 ymm registers: 6 chains of the nibble count (two temporaries each would not fit
// 12), ymm0..ymm2 inputs, ymm3..ymm8 temporaries, ymm9..ymm14 accumulators.
#define LB_X6(X) X(3, 9) X(4, 10) X(5, 11) X(6, 12) X(7, 13) X(8, 14)
#define LB_NIBBLE_YMM(t, a)                                                 \
  "vpand %%ymm1, %%ymm0, %%ymm" #t "\n\t"                                   \
  "vpshufb %%ymm" #t ", %%ymm2, %%ymm" #t "\n\t"                            \
  "vpaddb %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n\t"                        \
  "vpand %%ymm2, %%ymm0, %%ymm" #t "\n\t"                                   \
  "vpshufb %%ymm" #t ", %%ymm1, %%ymm" #t "\n\t"                            \
  "vpaddb %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n\t"
#define LB_MADDWD_YMM(t, a)                                                 \
  "vpmaddwd %%ymm1, %%ymm0, %%ymm" #t "\n\t"                                \
  "vpaddd %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n\t"
#define LB_MADDUBSW_YMM(t, a)                                               \
  "vpmaddubsw %%ymm1, %%ymm0, %%ymm" #t "\n\t"                              \
  "vpaddw %%ymm" #t ", %%ymm" #a ", %%ymm" #a "\n\t"
#define LB_YMM_CLOBBERS                                                                        \
  "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",      \
      "xmm11", "xmm12", "xmm13", "xmm14", "cc"
#define LB_YMM_LOOP(STEP)                                                   \
  __asm__ volatile("vpcmpeqd %%ymm0, %%ymm0, %%ymm0\n\t"                    \
                   "vpcmpeqd %%ymm1, %%ymm1, %%ymm1\n\t"                    \
                   "vpcmpeqd %%ymm2, %%ymm2, %%ymm2\n\t"                    \
                   "1:\n\t" LB_X6(STEP) LB_X6(STEP) "dec %0\n\t"            \
                   "jnz 1b\n\t"                                             \
                   : "+r"(n)                                                \
                   :                                                        \
                   : LB_YMM_CLOBBERS)

__attribute__((target("avx2"))) void nibble_ymm(uint64_t n) { LB_YMM_LOOP(LB_NIBBLE_YMM); }
__attribute__((target("avx2"))) void maddwd_ymm(uint64_t n) { LB_YMM_LOOP(LB_MADDWD_YMM); }
__attribute__((target("avx2"))) void maddubsw_ymm(uint64_t n) { LB_YMM_LOOP(LB_MADDUBSW_YMM); }

struct Mix {
  const char *name;
  const char *label;
  bool (*supported)();
  void (*run)(uint64_t);
  double macs_per_iteration; // 12 steps per loop iteration
  int chains;                // independent accumulators
};

bool has_avx2() { return __builtin_cpu_supports("avx2"); }
bool has_popcnt512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
}
bool has_vnni512() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vnni");
}

const Mix kMixes[] = {
    {"bitserial@avx512", "vpandq + vpopcntq + vpaddq zmm; 1-bit MACs", has_popcnt512, popcnt_zmm,
     12 * 512, 12},
    {"bitserial@avx2", "2 x (vpand + vpshufb + vpaddb) ymm, nibble-table count; 1-bit MACs",
     has_avx2, nibble_ymm, 12 * 256, 6},
    {"s16@avx2", "vpmaddwd + vpaddd ymm; int16 MACs", has_avx2, maddwd_ymm, 12 * 16, 6},
    {"u8s8@avx2", "vpmaddubsw + vpaddw ymm; 8-bit MACs", has_avx2, maddubsw_ymm, 12 * 32, 6},
    {"s16@avx512", "vpdpwssd zmm (VNNI); int16 MACs", has_vnni512, vpdpwssd_zmm, 12 * 32, 12},
    {"u8s8@avx512", "vpdpbusd zmm (VNNI); 8-bit MACs", has_vnni512, vpdpbusd_zmm, 12 * 64, 12},
};

void run_mix(benchmark::State &state, const Mix &mix) {
  if (!mix.supported()) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  state.SetLabel(std::string(mix.label) + "; register-resident, " + std::to_string(mix.chains) +
                 " independent accumulators");
  for (auto _ : state) {
    mix.run(kIterations);
  }
  state.counters["GOPS"] =
      benchmark::Counter(2e-9 * mix.macs_per_iteration * static_cast<double>(kIterations),
                         benchmark::Counter::kIsIterationInvariantRate);
}

} // namespace

int main(int argc, char **argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 2;
  }
  for (const Mix &mix : kMixes) {
    benchmark::RegisterBenchmark((std::string("peak/") + mix.name).c_str(), run_mix, mix)
        ->UseRealTime();
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
