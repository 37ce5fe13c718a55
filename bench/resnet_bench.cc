// ResNet-18 layer by layer: its convolutions C2-C12 (batch 1, NHWC, REFERENCE.md section 2) and
// its 1x1024 -> 1000 dense layer, as whole layers through lb_conv2d and lb_dense, at every bit
// configuration of the benchmark table and the fixed 16-bit baseline, beside float (OpenBLAS
// sgemm) and int8 (oneDNN u8s8s32) peers, in one run.
//
// A lowbit row's weights are packed when the operator is created, before timing. Timed, with
// --io=codes (the default): the activation codes packed, the GEMM and the output stage
// requantizing the sums to codes of the next layer's activations (LB_OUTPUT_CODES, same operand
// as the input), as a quantized network runs; with --io=float: the float input quantized to the
// activation codes as it is packed (LB_INPUT_FLOAT, a_scale), the GEMM and the float output stage
// (LB_OUTPUT_FLOAT: sum * scale + bias), as the float peer's layer. The label says which.
//
// Row names: "<layer>/<config>/t<threads>", the config followed by "@avx512" where lowbit runs its
// AVX-512 family (the CPU has it and --isa is native). Configs: A<a>W<w> (unsigned x unsigned up to 4 bits;
// A1W1u unsigned, A1W1b bipolar; A8Wn: unsigned 8-bit activations, signed weights, A8W8 exact over
// the full 8-bit range), "int16" the baseline, "float" and "onednn" the peers. The label names the
// kernel (or the library), the operands and what goes in and out. Counter GOPS: 2 x MACs per
// second, padding taps counted. The speedup over the baseline of the same layer and thread count
// is computed from the JSON by scripts/resnet-report.py.
//
// The baseline is the fastest 16-bit kernel of the ISA (vpmaddwd, or VNNI vpdpwssd) on 16-bit
// codes: LB_DIRECT on 9-bit signed activations and 8-bit signed weights gives it (9 bits are the
// narrowest that no 8-bit kernel takes; a VNNI u8s8 kernel takes s8 x s8), and the rows check that
// it did. Small values in the 16-bit codes, as in lowbit-bench-gemm: declared 16-bit values would
// make the exact kernel widen its int32 lanes at every K step, a baseline slower than need be.
//
// Usage: lowbit-bench-resnet [--threads=1,2] [--strategy=auto|bitserial|direct] [--io=codes|float]
//                            [--isa=native|avx2] [Google Benchmark flags]
// --isa=avx2 caps lowbit (LOWBIT_ISA=avx2) and oneDNN (dnnl_set_max_cpu_isa) at AVX2 on a CPU with
// AVX-512; native (the default) lets both use what the CPU has.
// --strategy applies to the low-bit configurations (default auto: the kernel LB_AUTO picks).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#ifdef LOWBIT_BENCH_OPENBLAS
#include <cblas.h>
#endif
#ifdef LOWBIT_BENCH_ONEDNN
#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#endif

#include "lowbit/operators.h"
#include "support/operands.h"

namespace {

struct Layer {
  const char *name;
  size_t size, in_c, out_c; // input height = width
  unsigned kernel, stride;
  bool same;  // SAME padding, else VALID
  bool dense; // the 1x1 image of a dense layer
};

constexpr Layer kLayers[] = {
    {"C2", 56, 64, 64, 3, 1, true, false},    {"C3", 56, 64, 64, 1, 1, false, false},
    {"C4", 56, 64, 128, 3, 2, true, false},   {"C5", 56, 64, 128, 1, 2, false, false},
    {"C6", 28, 128, 128, 3, 1, true, false},  {"C7", 28, 128, 256, 3, 2, true, false},
    {"C8", 28, 128, 256, 1, 2, false, false}, {"C9", 14, 256, 256, 3, 1, true, false},
    {"C10", 14, 256, 512, 3, 2, true, false}, {"C11", 14, 256, 512, 1, 2, false, false},
    {"C12", 7, 512, 512, 3, 1, true, false},  {"FC", 1, 1024, 1000, 1, 1, false, true},
};

// The GEMM of a layer: M output pixels, N output channels, K = taps x input channels.
struct Geometry {
  size_t out_size, pad, m, n, k;
};

Geometry geometry(const Layer &l) {
  const size_t pad = l.same ? (l.kernel - 1) / 2 : 0;
  const size_t out = (l.size + 2 * pad - l.kernel) / l.stride + 1;
  return {out, pad, out * out, l.out_c, static_cast<size_t>(l.kernel) * l.kernel * l.in_c};
}

struct Config {
  const char *name;
  lb_operand a, w;
  bool baseline;
};

constexpr lb_operand U(unsigned bits) { return {bits, LB_UNSIGNED}; }
constexpr lb_operand S(unsigned bits) { return {bits, LB_SIGNED}; }
constexpr lb_operand B1 = {1, LB_BIPOLAR};

constexpr Config kConfigs[] = {
    {"int16", S(9), S(8), true}, {"A1W1u", U(1), U(1), false}, {"A1W1b", B1, B1, false},
    {"A2W1", U(2), U(1), false}, {"A2W2", U(2), U(2), false},  {"A3W1", U(3), U(1), false},
    {"A1W3", U(1), U(3), false}, {"A3W3", U(3), U(3), false},  {"A4W4", U(4), U(4), false},
    {"A8W2", U(8), S(2), false}, {"A8W4", U(8), S(4), false},  {"A8W8", U(8), S(8), false},
};

std::string operand_text(lb_operand op) {
  return std::string(1, static_cast<char>(op.encoding)) + std::to_string(op.bits);
}

const char *strategy_text(lb_strategy_choice s) {
  switch (s) {
  case LB_BITSERIAL: return "LB_BITSERIAL";
  case LB_DIRECT: return "LB_DIRECT";
  case LB_AUTO: break;
  }
  return "LB_AUTO";
}

using Buffer = std::unique_ptr<void, decltype(&std::free)>;

void set_counters(benchmark::State &state, const Layer &layer) {
  const Geometry g = geometry(layer);
  state.counters["GOPS"] = benchmark::Counter(2e-9 * static_cast<double>(g.m * g.n * g.k),
                                              benchmark::Counter::kIsIterationInvariantRate);
}

// Random codes of `a`, count elements of lb_gemm's source type; as floats, these codes times the
// step kAScale, which quantize back to the same codes exactly. Empty when out of memory.
constexpr float kAScale = 0.25f;

Buffer random_codes(lb_operand a, size_t count, uint64_t *rng) {
  return Buffer(lb_test_matrix(a, 1, count, count, LB_FILL_RANDOM, rng), std::free);
}

Buffer random_floats(lb_operand a, size_t count, uint64_t *rng) {
  const Buffer codes = random_codes(a, count, rng);
  std::vector<int64_t> values(count);
  Buffer x(std::malloc(count * sizeof(float)), std::free);
  if (!codes || !x) {
    return Buffer(nullptr, std::free);
  }
  lb_test_decode(a, codes.get(), 0, count, values.data());
  float *f = static_cast<float *>(x.get());
  for (size_t i = 0; i < count; i++) {
    f[i] = static_cast<float>(values[i]) * kAScale;
  }
  return x;
}

enum class Io { kCodes, kFloat };

// The parts of a conv2d or dense descriptor that say what goes in and out.
struct Stage {
  lb_output_kind output;
  lb_requantize requantize;
  lb_float_output float_out;
  lb_input_kind input;
  float a_scale;
};

// One lowbit layer operator, created (weights packed) before timing.
class Operator {
public:
  Operator(const Layer &layer, const Config &cfg, lb_strategy_choice strategy, unsigned threads,
           Io io)
      : layer_(layer) {
    const Geometry g = geometry(layer);
    // Any scale does for speed; these keep the codes spread over the output range.
    scale_.assign(g.n, 1.0f / static_cast<float>(g.k));
    bias_.assign(g.n, 0.5f);
    multiplier_.assign(g.n, INT32_C(1) << 30);
    shift_.assign(g.n, static_cast<int8_t>(std::min<size_t>(24, g.k / 64)));
    Stage stage;
    std::memset(&stage, 0, sizeof stage);
    if (io == Io::kFloat) {
      stage.output = LB_OUTPUT_FLOAT;
      stage.float_out = {scale_.data(), bias_.data()};
      stage.input = LB_INPUT_FLOAT;
      stage.a_scale = kAScale;
    } else {
      stage.output = LB_OUTPUT_CODES;
      stage.requantize.out = cfg.a;
      stage.requantize.multiplier = multiplier_.data();
      stage.requantize.shift = shift_.data();
      stage.requantize.clamp_min = static_cast<int32_t>(lb_test_min_value(cfg.a));
      stage.requantize.clamp_max = static_cast<int32_t>(lb_test_max_value(cfg.a));
      stage.input = LB_INPUT_CODES;
    }
    uint64_t rng = 17;
    const Buffer weights = random_codes(cfg.w, g.n * g.k, &rng);
    if (!weights) {
      return;
    }
    if (layer.dense) {
      lb_dense_desc d;
      std::memset(&d, 0, sizeof d);
      d.batch = 1;
      d.in_c = layer.in_c;
      d.out_c = layer.out_c;
      d.a = cfg.a;
      d.w = cfg.w;
      d.strategy = strategy;
      d.threads = threads;
      d.output = stage.output;
      d.requantize = stage.requantize;
      d.float_out = stage.float_out;
      d.input = stage.input;
      d.a_scale = stage.a_scale;
      status_ = lb_dense_create(&d, weights.get(), &dense_);
    } else {
      lb_conv2d_desc d;
      std::memset(&d, 0, sizeof d);
      d.batch = 1;
      d.in_h = d.in_w = layer.size;
      d.in_c = layer.in_c;
      d.out_c = layer.out_c;
      d.kernel_h = d.kernel_w = layer.kernel;
      d.stride_h = d.stride_w = layer.stride;
      d.dilation_h = d.dilation_w = 1;
      d.groups = 1;
      d.a = cfg.a;
      d.w = cfg.w;
      d.strategy = strategy;
      d.threads = threads;
      d.output = stage.output;
      d.requantize = stage.requantize;
      d.float_out = stage.float_out;
      d.input = stage.input;
      d.a_scale = stage.a_scale;
      if (layer.same) {
        lb_conv2d_pad_same(&d);
      } else {
        lb_conv2d_pad_valid(&d);
      }
      // The run writes geometry()'s output size: the buffers are made for it.
      if (lb_conv2d_out_h(&d) != g.out_size || lb_conv2d_out_w(&d) != g.out_size) {
        status_ = LB_INVALID_ARGUMENT;
        return;
      }
      status_ = lb_conv2d_create(&d, weights.get(), &conv_);
    }
  }
  ~Operator() {
    lb_conv2d_destroy(conv_);
    lb_dense_destroy(dense_);
  }
  Operator(const Operator &) = delete;
  Operator &operator=(const Operator &) = delete;

  lb_status status() const { return status_; }
  const lb_gemm_kernel_info *kernel() const {
    return layer_.dense ? lb_dense_kernel(dense_) : lb_conv2d_kernel(conv_);
  }
  lb_status run(const void *input, void *output) const {
    return layer_.dense ? lb_dense_run(dense_, input, output) : lb_conv2d_run(conv_, input, output);
  }

private:
  const Layer &layer_;
  std::vector<float> scale_, bias_;
  std::vector<int32_t> multiplier_;
  std::vector<int8_t> shift_;
  lb_conv2d *conv_ = nullptr;
  lb_dense *dense_ = nullptr;
  lb_status status_ = LB_OUT_OF_MEMORY;
};

void run_lowbit(benchmark::State &state, const Layer &layer, const Config &cfg,
                lb_strategy_choice strategy, unsigned threads, Io io) {
  set_counters(state, layer);
  const lb_strategy_choice used = cfg.baseline ? LB_DIRECT : strategy;
  const Operator op(layer, cfg, used, threads, io);
  if (op.status() != LB_OK) {
    state.SkipWithError(lb_status_string(op.status()));
    return;
  }
  const lb_gemm_kernel_info *kernel = op.kernel();
  if (cfg.baseline && (kernel->a_format != LB_CODE_S16 || kernel->w_format != LB_CODE_S16)) {
    state.SkipWithError("the baseline did not get a 16-bit kernel");
    return;
  }
  const std::string operands =
      cfg.baseline ? "s9 x s8 in s16 codes" : operand_text(cfg.a) + " x " + operand_text(cfg.w);
  const std::string stage =
      io == Io::kFloat ? "float in, float out"
                       : "codes in, codes out (requantized to " + operand_text(cfg.a) + ")";
  state.SetLabel(std::string(kernel->name) + "; " + operands + "; " + strategy_text(used) + "; " +
                 stage);
  const Geometry g = geometry(layer);
  const size_t in_count = layer.size * layer.size * layer.in_c;
  uint64_t rng = 5;
  const Buffer input =
      io == Io::kFloat ? random_floats(cfg.a, in_count, &rng) : random_codes(cfg.a, in_count, &rng);
  if (!input) {
    state.SkipWithError("out of memory");
    return;
  }
  // Float outputs, or codes of at most 2 bytes: room for either.
  std::vector<float> output(g.m * g.n);
  for (auto _ : state) {
    const lb_status st = op.run(input.get(), output.data());
    if (st != LB_OK) {
      state.SkipWithError(lb_status_string(st));
      break;
    }
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
}

#if defined(LOWBIT_BENCH_OPENBLAS) || defined(LOWBIT_BENCH_ONEDNN)
// The im2col matrix of an NHWC image, as a GEMM-based convolution builds it for every call:
// row = output pixel, K = (tap, channel), padding taps 0. A 1x1 layer at stride 1 without padding
// is its own im2col matrix, so its peers skip the copy (lowbit's operator does too).
bool is_identity(const Layer &l) { return l.kernel == 1 && l.stride == 1 && !l.same; }

template <typename T> void im2col(const Layer &l, const T *in, T *out) {
  const Geometry g = geometry(l);
  const long size = static_cast<long>(l.size);
  for (size_t oy = 0; oy < g.out_size; oy++) {
    for (size_t ox = 0; ox < g.out_size; ox++) {
      T *row = out + (oy * g.out_size + ox) * g.k;
      for (unsigned ky = 0; ky < l.kernel; ky++) {
        for (unsigned kx = 0; kx < l.kernel; kx++) {
          const long iy = static_cast<long>(oy * l.stride + ky) - static_cast<long>(g.pad);
          const long ix = static_cast<long>(ox * l.stride + kx) - static_cast<long>(g.pad);
          T *run = row + (ky * l.kernel + kx) * l.in_c;
          if (iy < 0 || ix < 0 || iy >= size || ix >= size) {
            std::fill(run, run + l.in_c, T(0));
          } else {
            std::memcpy(run, in + (static_cast<size_t>(iy * size + ix)) * l.in_c,
                        l.in_c * sizeof(T));
          }
        }
      }
    }
  }
}

// OpenBLAS's and OpenMP's idle workers spin for a while after a call before they sleep; this
// pause, outside the timed loop, keeps them from taking CPU from the next row.
void let_workers_sleep(unsigned threads) {
  if (threads > 1) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}
#endif

#ifdef LOWBIT_BENCH_OPENBLAS
// "OpenBLAS 0.3.21 sgemm (Zen kernels)": the head of openblas_get_config() is name and version.
std::string openblas_label() {
  std::string config = openblas_get_config();
  const size_t space = config.find(' ');
  const size_t end = space == std::string::npos ? space : config.find(' ', space + 1);
  return config.substr(0, end) + " sgemm (" + openblas_get_corename() + " kernels)";
}

void run_float(benchmark::State &state, const Layer &layer, unsigned threads) {
  set_counters(state, layer);
  const Geometry g = geometry(layer);
  openblas_set_num_threads(static_cast<int>(threads));
  state.SetLabel(openblas_label() + (is_identity(layer) ? "" : " on an im2col copy") +
                 "; float in, float out");
  uint64_t rng = 5;
  const Buffer input = random_floats(S(8), layer.size * layer.size * layer.in_c, &rng);
  const Buffer weights = random_floats(S(8), g.n * g.k, &rng);
  if (!input || !weights) {
    state.SkipWithError("out of memory");
    return;
  }
  std::vector<float> cols(is_identity(layer) ? 0 : g.m * g.k);
  std::vector<float> output(g.m * g.n);
  for (auto _ : state) {
    const float *a = static_cast<const float *>(input.get());
    if (!is_identity(layer)) {
      im2col(layer, a, cols.data());
      a = cols.data();
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(g.m),
                static_cast<blasint>(g.n), static_cast<blasint>(g.k), 1.0f, a,
                static_cast<blasint>(g.k), static_cast<const float *>(weights.get()),
                static_cast<blasint>(g.k), 0.0f, output.data(), static_cast<blasint>(g.n));
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  let_workers_sleep(threads);
}
#endif

#ifdef LOWBIT_BENCH_ONEDNN
// oneDNN runs on OpenMP (Debian's build): its thread count is OpenMP's, set through the
// omp_set_num_threads of the OpenMP runtime it loaded, looked up so that the benchmark does not
// link one of its own. NULL if oneDNN came without OpenMP.
using OmpSetNumThreads = void (*)(int);
OmpSetNumThreads omp_set_threads() {
  return reinterpret_cast<OmpSetNumThreads>(dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
}

// oneDNN's AVX2 int8 GEMM saturates its 16-bit pair sums (vpmaddubsw): it is exact for 7-bit
// activations only, which it gets there. With AVX-512 VNNI (vpdpbusd sums into int32 without
// saturating) it is exact over the full 8-bit range and gets 8-bit activations. --isa=avx2 caps it
// at AVX2 before its first call, as it caps lowbit; the label says when the cap took something
// away.
std::string onednn_isa_note;
bool onednn_full_range = false;

void onednn_setup(bool cap_avx2) {
#if defined(__x86_64__)
  const bool has_vnni = __builtin_cpu_supports("avx512vnni");
  if (!cap_avx2) {
    onednn_isa_note = has_vnni ? "its native ISA (AVX-512 VNNI)" : "its native ISA";
    onednn_full_range = has_vnni;
    return;
  }
  const dnnl_status_t st = dnnl_set_max_cpu_isa(dnnl_cpu_isa_avx2);
  if (st != dnnl_success) {
    onednn_isa_note = "max ISA not capped (dnnl_set_max_cpu_isa failed)";
  } else if (__builtin_cpu_supports("avx512f")) {
    onednn_isa_note = "max ISA AVX2 (DNNL_MAX_CPU_ISA=AVX2: this CPU has AVX-512)";
  } else {
    onednn_isa_note = "max ISA AVX2 (the CPU's own)";
  }
#else
  (void)cap_avx2;
  onednn_isa_note = "the CPU's own ISA";
#endif
}

std::string onednn_version() {
  const dnnl_version_t *v = dnnl_version();
  return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
}

void run_onednn(benchmark::State &state, const Layer &layer, unsigned threads) {
  set_counters(state, layer);
  const OmpSetNumThreads set_threads = omp_set_threads();
  if (set_threads == nullptr) {
    state.SkipWithError("oneDNN without OpenMP: cannot set its thread count");
    return;
  }
  set_threads(static_cast<int>(threads));
  const Geometry g = geometry(layer);
  state.SetLabel("oneDNN " + onednn_version() + " dnnl_gemm_u8s8s32" +
                 (is_identity(layer) ? "" : " on an im2col copy") +
                 (onednn_full_range ? "; u8 x s8 (exact over the full range)"
                                    : "; u7 x s8 (7-bit activations: exact only there)") +
                 "; codes in, int32 out; " + onednn_isa_note);
  uint64_t rng = 5;
  const Buffer input =
      random_codes(U(onednn_full_range ? 8 : 7), layer.size * layer.size * layer.in_c, &rng);
  const Buffer weights = random_codes(S(8), g.n * g.k, &rng);
  if (!input || !weights) {
    state.SkipWithError("out of memory");
    return;
  }
  std::vector<uint8_t> cols(is_identity(layer) ? 0 : g.m * g.k);
  std::vector<int32_t> output(g.m * g.n);
  const int32_t zero = 0;
  for (auto _ : state) {
    const uint8_t *a = static_cast<const uint8_t *>(input.get());
    if (!is_identity(layer)) {
      im2col(layer, a, cols.data());
      a = cols.data();
    }
    const dnnl_status_t st =
        dnnl_gemm_u8s8s32('N', 'T', 'F', static_cast<dnnl_dim_t>(g.m), static_cast<dnnl_dim_t>(g.n),
                          static_cast<dnnl_dim_t>(g.k), 1.0f, a, static_cast<dnnl_dim_t>(g.k), 0,
                          static_cast<const int8_t *>(weights.get()), static_cast<dnnl_dim_t>(g.k),
                          0, 0.0f, output.data(), static_cast<dnnl_dim_t>(g.n), &zero);
    if (st != dnnl_success) {
      state.SkipWithError("dnnl_gemm_u8s8s32 failed");
      break;
    }
    benchmark::DoNotOptimize(output.data());
    benchmark::ClobberMemory();
  }
  let_workers_sleep(threads);
}
#endif

// "model name" of /proc/cpuinfo (the first one), or "" where there is none.
std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) {
        const size_t start = line.find_first_not_of(" \t", colon + 1);
        return start == std::string::npos ? "" : line.substr(start);
      }
    }
  }
  return "";
}

bool parse_threads(const char *s, std::vector<unsigned> *threads) {
  threads->clear();
  const char *p = s;
  for (;;) {
    char *end = nullptr;
    const unsigned long t = std::strtoul(p, &end, 10);
    if (end == p || t < 1 || t > 64) {
      return false;
    }
    threads->push_back(static_cast<unsigned>(t));
    if (*end == '\0') {
      return true;
    }
    if (*end != ',') {
      return false;
    }
    p = end + 1;
  }
}

bool parse_strategy(const char *s, lb_strategy_choice *strategy) {
  if (std::strcmp(s, "auto") == 0) {
    *strategy = LB_AUTO;
  } else if (std::strcmp(s, "bitserial") == 0) {
    *strategy = LB_BITSERIAL;
  } else if (std::strcmp(s, "direct") == 0) {
    *strategy = LB_DIRECT;
  } else {
    return false;
  }
  return true;
}

} // namespace

int main(int argc, char **argv) {
  std::vector<unsigned> threads = {1, 2};
  lb_strategy_choice strategy = LB_AUTO;
  Io io = Io::kCodes;
  bool cap_avx2 = false;
  std::vector<char *> rest;
  for (int i = 0; i < argc; i++) {
    if (std::strncmp(argv[i], "--threads=", 10) == 0) {
      if (!parse_threads(argv[i] + 10, &threads)) {
        std::fprintf(stderr, "lowbit-bench-resnet: bad --threads '%s' (want e.g. 1,2; 1..64)\n",
                     argv[i] + 10);
        return 2;
      }
    } else if (std::strncmp(argv[i], "--strategy=", 11) == 0) {
      if (!parse_strategy(argv[i] + 11, &strategy)) {
        std::fprintf(stderr,
                     "lowbit-bench-resnet: bad --strategy '%s' (want auto, bitserial or direct)\n",
                     argv[i] + 11);
        return 2;
      }
    } else if (std::strcmp(argv[i], "--io=codes") == 0) {
      io = Io::kCodes;
    } else if (std::strcmp(argv[i], "--io=float") == 0) {
      io = Io::kFloat;
    } else if (std::strcmp(argv[i], "--isa=native") == 0) {
      cap_avx2 = false;
    } else if (std::strcmp(argv[i], "--isa=avx2") == 0) {
      cap_avx2 = true;
    } else if (std::strncmp(argv[i], "--isa=", 6) == 0) {
      std::fprintf(stderr, "lowbit-bench-resnet: bad --isa '%s' (want native or avx2)\n",
                   argv[i] + 6);
      return 2;
    } else if (std::strncmp(argv[i], "--io=", 5) == 0) {
      std::fprintf(stderr, "lowbit-bench-resnet: bad --io '%s' (want codes or float)\n",
                   argv[i] + 5);
      return 2;
    } else {
      rest.push_back(argv[i]);
    }
  }
  int rest_argc = static_cast<int>(rest.size());
  benchmark::Initialize(&rest_argc, rest.data());
  if (benchmark::ReportUnrecognizedArguments(rest_argc, rest.data())) {
    return 2;
  }

  // Before lowbit's first call, which reads LOWBIT_ISA once.
  if (cap_avx2 && setenv("LOWBIT_ISA", "avx2", 1) != 0) {
    std::fprintf(stderr, "lowbit-bench-resnet: cannot set LOWBIT_ISA\n");
    return 1;
  }
  // Rows of the AVX-512 kernels carry the family in their configuration's name, so that one
  // report can hold them beside an --isa=avx2 run's rows.
  const std::string isa_suffix =
      std::strstr(lb_cpu_description(), "avx512") != nullptr ? "@avx512" : "";

  std::string peers;
#ifdef LOWBIT_BENCH_OPENBLAS
  peers += "float: " + openblas_label();
#else
  std::fprintf(stderr, "lowbit-bench-resnet: built without OpenBLAS (libopenblas-dev): no float "
                       "rows\n");
  peers += "float: skipped (built without OpenBLAS)";
#endif
#ifdef LOWBIT_BENCH_ONEDNN
  onednn_setup(cap_avx2);
  peers += "; onednn: oneDNN " + onednn_version() + ", " + onednn_isa_note;
#else
  std::fprintf(stderr, "lowbit-bench-resnet: built without oneDNN (libdnnl-dev): no onednn rows\n");
  peers += "; onednn: skipped (built without oneDNN)";
#endif
  benchmark::AddCustomContext("cpu_model", cpu_model());
  benchmark::AddCustomContext("lowbit_cpu", lb_cpu_description());
  benchmark::AddCustomContext("lowbit_strategy", strategy_text(strategy));
  benchmark::AddCustomContext("lowbit_io",
                              io == Io::kFloat ? "float in, float out" : "codes in, codes out");
  benchmark::AddCustomContext("lowbit_peers", peers);
  benchmark::AddCustomContext("lowbit_isa", cap_avx2 ? "avx2 (--isa=avx2)" : "native");

  for (const unsigned t : threads) {
    for (const Layer &layer : kLayers) {
      const std::string prefix = std::string(layer.name) + "/";
      const std::string suffix = "/t" + std::to_string(t);
      for (const Config &cfg : kConfigs) {
        benchmark::RegisterBenchmark((prefix + cfg.name + isa_suffix + suffix).c_str(), run_lowbit, layer, cfg,
                                     strategy, t, io)
            ->Unit(benchmark::kMillisecond)
            ->UseRealTime();
      }
#ifdef LOWBIT_BENCH_OPENBLAS
      benchmark::RegisterBenchmark((prefix + "float" + isa_suffix + suffix).c_str(), run_float, layer, t)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
#endif
#ifdef LOWBIT_BENCH_ONEDNN
      benchmark::RegisterBenchmark((prefix + "onednn" + isa_suffix + suffix).c_str(), run_onednn, layer, t)
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
#endif
    }
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
