/* A first program against an installed liblowbit: one 2-bit convolution layer. Float
 * activations (8x8 pixels, 16 channels) are quantized to 2-bit unsigned codes as they are packed,
 * times 2-bit signed weights (3x3, 8 filters, SAME padding), exact int32 sums; then the same
 * layer from a plain loop over the quantized values, which must agree.
 * Build: cc example.c $(pkg-config --cflags --libs lowbit), or find_package(lowbit) in CMake. */
#include <stdint.h>
#include <stdio.h>

#include <lowbit/operators.h>

enum { H = 8, W = 8, C = 16, F = 8, KH = 3, KW = 3 };

static float input[H][W][C];        /* NHWC, batch 1 */
static int8_t weights[F][KH][KW][C]; /* 2-bit signed: -2..1 */
static int32_t sums[H][W][F];        /* SAME at stride 1: 8x8 outputs */

/* The layer's quantization (lowbit/operators.h, LB_INPUT_FLOAT): round(x / 0.5) clamped to 0..3
 * (ties go to even there; this input has none, so adding one half and truncating agrees). */
static int quantized(float x) {
  const int q = (int)(x / 0.5f + 0.5f);
  return q > 3 ? 3 : q;
}

int main(void) {
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int c = 0; c < C; c++)
        input[y][x][c] = (float)((y * 5 + x * 3 + c) % 9) * 0.2f;
  for (int f = 0; f < F; f++)
    for (int ky = 0; ky < KH; ky++)
      for (int kx = 0; kx < KW; kx++)
        for (int c = 0; c < C; c++)
          weights[f][ky][kx][c] = (int8_t)((f + ky * 2 + kx + c) % 4 - 2);

  lb_conv2d_desc desc = {.batch = 1, .in_h = H, .in_w = W, .in_c = C, .out_c = F,
                         .kernel_h = KH, .kernel_w = KW, .stride_h = 1, .stride_w = 1,
                         .dilation_h = 1, .dilation_w = 1, .groups = 1,
                         .a = {2, LB_UNSIGNED}, .w = {2, LB_SIGNED}, .strategy = LB_AUTO,
                         .threads = 1, .output = LB_OUTPUT_SUMS,
                         .input = LB_INPUT_FLOAT, .a_scale = 0.5f, .a_zero_point = 0};
  lb_conv2d_pad_same(&desc);
  lb_conv2d *layer;
  lb_status status = lb_conv2d_create(&desc, weights, &layer); /* packs the weights once */
  if (status == LB_OK)
    status = lb_conv2d_run(layer, input, sums); /* quantizes and packs the input, then the GEMM */
  if (status != LB_OK) {
    fprintf(stderr, "conv2d: %s\n", lb_status_string(status));
    return 1;
  }
  printf("%s, kernel %s\n", lb_cpu_description(), lb_conv2d_kernel(layer)->name);
  lb_conv2d_destroy(layer);

  int wrong = 0;
  for (int y = 0; y < H; y++)
    for (int x = 0; x < W; x++)
      for (int f = 0; f < F; f++) {
        int32_t expected = 0; /* padding taps are real zeros */
        for (int ky = 0; ky < KH; ky++)
          for (int kx = 0; kx < KW; kx++) {
            const int iy = y + ky - 1, ix = x + kx - 1;
            if (iy < 0 || iy >= H || ix < 0 || ix >= W)
              continue;
            for (int c = 0; c < C; c++)
              expected += quantized(input[iy][ix][c]) * weights[f][ky][kx][c];
          }
        wrong += sums[y][x][f] != expected;
      }
  printf("output pixel (0,0): %d %d %d %d ...\n", (int)sums[0][0][0], (int)sums[0][0][1],
         (int)sums[0][0][2], (int)sums[0][0][3]);
  if (wrong) {
    printf("%d sums differ from the plain loop\n", wrong);
    return 1;
  }
  printf("all %d sums match the plain loop\n", H * W * F);
  return 0;
}
