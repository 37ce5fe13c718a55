/* Cross-target determinism of the quantizers: fixed tensors (seeded, made with integer arithmetic
 * only) quantized in every format and rounding, each with 1 and 2 threads, give one line
 * "<case> <FNV-1a 64 of the output bytes>" per case.
 *   lowbit-test-digest write FILE   the host: fails if 1 and 2 threads differ; writes FILE
 *   lowbit-test-digest check FILE   a cross target: fails unless every line equals FILE's
 * A format joins with one row of `cases` (a name and a function that fills the output). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lowbit/fixed_point.h"
#include "lowbit/lowbit.h"
#include "lowbit/minifloat.h"

#define COUNT(x) (sizeof(x) / sizeof((x)[0]))

/* Elements per tensor: above the size the quantizers split over threads, with a ragged end. */
enum { N = 65537, MAX_OUT_BYTES = 8 * N, PACK_ROWS = 37, PACK_K = 1000 };

static float floats[N];
static int32_t acc32[N];
static int64_t acc64[N];

static uint64_t mix(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
  return z ^ (z >> 31);
}

/* Floats of every kind (random bit patterns: NaN, infinities, subnormals) and, mostly, values of
 * moderate size k * 2^-j from integers, exact on every target. */
static void make_inputs(void) {
  for (size_t i = 0; i < N; i++) {
    const uint64_t r = mix(i + 1), s = mix(r);
    if (i % 8 == 0) {
      const uint32_t bits = (uint32_t)r;
      memcpy(&floats[i], &bits, sizeof bits);
    } else {
      float scale = 1.0f;
      for (unsigned j = 0; j < (s & 31); j++) {
        scale *= 0.5f;
      }
      floats[i] = (float)((int32_t)(r >> 40) - (1 << 23)) * scale * 0x1p-8f;
    }
    acc32[i] = (int32_t)(uint32_t)(s >> (s & 31));
    acc64[i] = (int64_t)(r >> ((s >> 8) & 63)) * ((s & 1) ? -1 : 1);
  }
  acc64[0] = INT64_MIN;
  acc64[1] = INT64_MAX;
  acc32[0] = INT32_MIN;
  acc32[1] = INT32_MAX;
}

/* Each case writes its output to out, sets *bytes, and returns LB_OK. */
typedef lb_status (*case_fn)(unsigned threads, void *out, size_t *bytes);

#define FIXED_F32(NAME, WL, FL, ROUNDING)                                                          \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_fixed_format f = {WL, FL};                                                            \
    *bytes = N * ((WL) <= 8 ? 1 : 2);                                                              \
    return lb_quantize_fixed_f32(&f, ROUNDING, 11, 1, 0, N, floats, out, threads);                 \
  }
#define FIXED_INT(NAME, SOURCE, INPUT, WL, S, ROUNDING)                                            \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    *bytes = N * ((WL) <= 8 ? 1 : 2);                                                              \
    return lb_quantize_fixed_##SOURCE(WL, S, ROUNDING, 11, 2, 100, N, INPUT, out, threads);        \
  }
#define MINIFLOAT(NAME, E, M, ROUNDING, FUNCTION, INPUT, ...)                                      \
  static lb_status NAME(unsigned threads, void *out, size_t *bytes) {                              \
    const lb_minifloat_format f = {E, M};                                                          \
    *bytes = N * (strstr(#FUNCTION, "codes") ? lb_minifloat_code_bytes(&f) : 4);                   \
    return FUNCTION(&f, __VA_ARGS__ ROUNDING, 13, (E)*16 + (M), 7, N, INPUT, out, threads);        \
  }

FIXED_F32(fixed_f32_8_4_nearest, 8, 4, LB_ROUND_NEAREST)
FIXED_F32(fixed_f32_8_4_sr, 8, 4, LB_ROUND_STOCHASTIC)
FIXED_F32(fixed_f32_16_8_nearest, 16, 8, LB_ROUND_NEAREST)
FIXED_F32(fixed_f32_16_8_sr, 16, 8, LB_ROUND_STOCHASTIC)
FIXED_F32(fixed_f32_4_1_sr, 4, 1, LB_ROUND_STOCHASTIC)
FIXED_F32(fixed_f32_12_m3_sr, 12, -3, LB_ROUND_STOCHASTIC)
FIXED_INT(fixed_i32_8_s12_nearest, i32, acc32, 8, 12, LB_ROUND_NEAREST)
FIXED_INT(fixed_i32_8_s12_sr, i32, acc32, 8, 12, LB_ROUND_STOCHASTIC)
FIXED_INT(fixed_i64_16_s40_nearest, i64, acc64, 16, 40, LB_ROUND_NEAREST)
FIXED_INT(fixed_i64_16_s40_sr, i64, acc64, 16, 40, LB_ROUND_STOCHASTIC)
MINIFLOAT(e5m2_nearest, 5, 2, LB_ROUND_NEAREST, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m2_sr, 5, 2, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e4m3_nearest, 4, 3, LB_ROUND_NEAREST, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e4m3_sr, 4, 3, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m10_nearest, 5, 10, LB_ROUND_NEAREST, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m10_sr, 5, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e2m0_sr, 2, 0, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e3m4_sr, 3, 4, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e8m7_sr, 8, 7, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_codes, floats, )
MINIFLOAT(e5m10_float_sr, 5, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat, floats, )
MINIFLOAT(e8m10_float_sr, 8, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat, floats, )
MINIFLOAT(e4m3_i32_s16_nearest, 4, 3, LB_ROUND_NEAREST, lb_quantize_minifloat_i32_codes, acc32,
          16, )
MINIFLOAT(e4m3_i32_s16_sr, 4, 3, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_i32_codes, acc32, 16, )
MINIFLOAT(e5m10_i64_s40_sr, 5, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_i64_codes, acc64,
          40, )
MINIFLOAT(e8m10_float_i64_s20_sr, 8, 10, LB_ROUND_STOCHASTIC, lb_quantize_minifloat_i64, acc64,
          20, )

/* The fused SR pack into the panels of a generic kernel (built for every target, so the panel
 * layout is the same everywhere): PACK_ROWS x PACK_K floats, panel by panel, the panels split
 * between the threads (a second pthread packs the second half). */
typedef struct pack_job {
  const lb_gemm_kernel_info *kernel;
  lb_pack_args args;
  size_t panel_bytes, first_panel, last_panel;
  unsigned char *out;
  int64_t *sums;
} pack_job;

static void *pack_panels(void *context) {
  const pack_job *job = context;
  for (size_t p = job->first_panel; p < job->last_panel; p++) {
    const size_t first = p * job->kernel->mr;
    const size_t rows = PACK_ROWS - first < job->kernel->mr ? PACK_ROWS - first : job->kernel->mr;
    const float *runs[16];
    for (size_t r = 0; r < rows; r++) {
      runs[r] = floats + (first + r) * PACK_K;
    }
    const int is_signed = job->args.source_signed;
    const lb_quantize_args q = {.scale = 0.125f,
                                .zero_point = 0,
                                .min_value = is_signed ? -(1 << (job->args.bits - 1)) : 0,
                                .max_value = is_signed ? (1 << (job->args.bits - 1)) - 1
                                                       : (1 << job->args.bits) - 1,
                                .rounding = LB_ROUND_STOCHASTIC,
                                .seed = 21,
                                .stream = 3,
                                .first_row = first};
    job->kernel->pack_a_quantize(rows, 1, PACK_K, runs, job->out + p * job->panel_bytes,
                                 job->sums + first, &job->args, &q);
  }
  return NULL;
}

static lb_status pack_case(const char *name, unsigned bits, int is_signed, size_t block_bytes,
                           unsigned threads, void *out, size_t *bytes) {
  const lb_gemm_kernel_info *kernel = NULL;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    if (strcmp(lb_gemm_kernel_at(i)->name, name) == 0) {
      kernel = lb_gemm_kernel_at(i);
    }
  }
  if (kernel == NULL || kernel->pack_a_quantize == NULL || kernel->mr > 16) {
    return LB_NO_KERNEL;
  }
  pack_job job = {
      .kernel = kernel,
      .args = {.bits = bits, .source_signed = is_signed, .planes = is_signed ? 0 : bits},
      .panel_bytes = (PACK_K + kernel->kblock - 1) / kernel->kblock * block_bytes,
      .out = out};
  const size_t panels = (PACK_ROWS + kernel->mr - 1) / kernel->mr;
  const size_t panel_total = panels * job.panel_bytes;
  job.sums = (int64_t *)((unsigned char *)out + panel_total);
  *bytes = panel_total + PACK_ROWS * sizeof(int64_t);
  memset(out, 0, *bytes);
  job.last_panel = panels;
  if (threads < 2) {
    pack_panels(&job);
    return LB_OK;
  }
  pack_job second = job;
  job.last_panel = second.first_panel = panels / 2;
  pthread_t thread;
  if (pthread_create(&thread, NULL, pack_panels, &second) != 0) {
    return LB_OUT_OF_MEMORY;
  }
  pack_panels(&job);
  pthread_join(thread, NULL);
  return LB_OK;
}

static lb_status pack_s8_sr(unsigned threads, void *out, size_t *bytes) {
  return pack_case("lb_gemm_direct_s8_4x4_k1__generic", 8, 1, 4, threads, out, bytes);
}
static lb_status pack_s16_sr(unsigned threads, void *out, size_t *bytes) {
  return pack_case("lb_gemm_direct_s16_4x4_k1__generic", 16, 1, 4 * 2, threads, out, bytes);
}
static lb_status pack_bitplanes_2u_sr(unsigned threads, void *out, size_t *bytes) {
  return pack_case("lb_gemm_bitserial_a2u_w1u_4x4_k64__generic", 2, 0, 2 * 4 * 8, threads, out,
                   bytes);
}

static const struct {
  const char *name;
  case_fn run;
} cases[] = {
    {"fixed.f32.wl8.fl4.nearest", fixed_f32_8_4_nearest},
    {"fixed.f32.wl8.fl4.sr", fixed_f32_8_4_sr},
    {"fixed.f32.wl16.fl8.nearest", fixed_f32_16_8_nearest},
    {"fixed.f32.wl16.fl8.sr", fixed_f32_16_8_sr},
    {"fixed.f32.wl4.fl1.sr", fixed_f32_4_1_sr},
    {"fixed.f32.wl12.fl-3.sr", fixed_f32_12_m3_sr},
    {"fixed.i32.wl8.s12.nearest", fixed_i32_8_s12_nearest},
    {"fixed.i32.wl8.s12.sr", fixed_i32_8_s12_sr},
    {"fixed.i64.wl16.s40.nearest", fixed_i64_16_s40_nearest},
    {"fixed.i64.wl16.s40.sr", fixed_i64_16_s40_sr},
    {"minifloat.e5m2.codes.nearest", e5m2_nearest},
    {"minifloat.e5m2.codes.sr", e5m2_sr},
    {"minifloat.e4m3.codes.nearest", e4m3_nearest},
    {"minifloat.e4m3.codes.sr", e4m3_sr},
    {"minifloat.e5m10.codes.nearest", e5m10_nearest},
    {"minifloat.e5m10.codes.sr", e5m10_sr},
    {"minifloat.e2m0.codes.sr", e2m0_sr},
    {"minifloat.e3m4.codes.sr", e3m4_sr},
    {"minifloat.e8m7.codes.sr", e8m7_sr},
    {"minifloat.e5m10.float.sr", e5m10_float_sr},
    {"minifloat.e8m10.float.sr", e8m10_float_sr},
    {"minifloat.e4m3.i32.s16.codes.nearest", e4m3_i32_s16_nearest},
    {"minifloat.e4m3.i32.s16.codes.sr", e4m3_i32_s16_sr},
    {"minifloat.e5m10.i64.s40.codes.sr", e5m10_i64_s40_sr},
    {"minifloat.e8m10.i64.s20.float.sr", e8m10_float_i64_s20_sr},
    {"pack-quantize.s8.sr", pack_s8_sr},
    {"pack-quantize.s16.sr", pack_s16_sr},
    {"pack-quantize.bitplanes2u.sr", pack_bitplanes_2u_sr},
};

static uint64_t fnv1a64(const unsigned char *p, size_t n) {
  uint64_t h = 0xcbf29ce484222325u;
  for (size_t i = 0; i < n; i++) {
    h = (h ^ p[i]) * 0x100000001b3u;
  }
  return h;
}

int main(int argc, char **argv) {
  if (argc != 3 || (strcmp(argv[1], "write") != 0 && strcmp(argv[1], "check") != 0)) {
    fprintf(stderr, "usage: %s write|check FILE\n", argv[0]);
    return 2;
  }
  const int writing = strcmp(argv[1], "write") == 0;
  FILE *file = fopen(argv[2], writing ? "w" : "r");
  if (file == NULL) {
    fprintf(stderr, "FAIL cannot open %s (%s)\n", argv[2],
            writing ? "to write" : "the host build's digests: run its digest test first");
    return 1;
  }
  make_inputs();
  static unsigned char one[MAX_OUT_BYTES], two[MAX_OUT_BYTES];
  unsigned failures = 0;
  for (size_t c = 0; c < COUNT(cases); c++) {
    size_t bytes_one = 0, bytes_two = 0;
    memset(one, 0, sizeof one);
    memset(two, 0xff, sizeof two);
    const lb_status a = cases[c].run(1, one, &bytes_one), b = cases[c].run(2, two, &bytes_two);
    const uint64_t digest = fnv1a64(one, bytes_one);
    char line[160];
    snprintf(line, sizeof line, "%s %016llx", cases[c].name, (unsigned long long)digest);
    printf("%s\n", line);
    if (a != LB_OK || b != LB_OK || bytes_one != bytes_two || memcmp(one, two, bytes_one) != 0) {
      printf("FAIL %s: 1 and 2 threads differ (status %d, %d)\n", cases[c].name, (int)a, (int)b);
      failures++;
    }
    if (writing) {
      fprintf(file, "%s\n", line);
    } else {
      char want[160];
      if (fgets(want, sizeof want, file) == NULL) {
        printf("FAIL %s: not in %s\n", cases[c].name, argv[2]);
        failures++;
        continue;
      }
      want[strcspn(want, "\n")] = '\0';
      if (strcmp(want, line) != 0) {
        printf("FAIL %s: the host has \"%s\"\n", cases[c].name, want);
        failures++;
      }
    }
  }
  char extra[160];
  if (!writing && fgets(extra, sizeof extra, file) != NULL) {
    printf("FAIL %s has more cases than this build (%s)\n", argv[2], extra);
    failures++;
  }
  if (fclose(file) != 0) {
    failures++;
  }
  printf("%zu cases, %s\n", COUNT(cases), failures ? "FAILED" : "ok");
  return failures != 0;
}
