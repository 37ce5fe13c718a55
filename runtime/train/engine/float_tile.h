/* One register tile of the float GEMM (float_layers.c), included once per vector width with
 * TILE_NAME, TILE_VEC (the vector type's name), TILE_ATTR (a target attribute or nothing),
 * TILE_VBYTES, TILE_MR (rows) and TILE_NV (vectors per row): C[mr][nr] (+)= A[mr][kc] * B[kc][nr]
 * with B read TILE_NV vectors wide (a zero-padded panel when nr is short). Each element is
 * acc = acc + a * b in k order, separately rounded, whatever the width. No include guard: the
 * file is a template. */

typedef float TILE_VEC __attribute__((vector_size(TILE_VBYTES), aligned(4)));

TILE_ATTR static void TILE_NAME(size_t kc, const float *restrict a, size_t lda,
                                const float *restrict b, size_t ldb, float *restrict c, size_t ldc,
                                size_t mr, size_t nr, int load) {
  enum { VL = TILE_VBYTES / 4, NR = VL * TILE_NV };
  TILE_VEC acc[TILE_MR][TILE_NV];
  const float *row[TILE_MR];
  for (size_t i = 0; i < TILE_MR; i++) {
    row[i] = a + (i < mr ? i : 0) * lda; /* a short tile repeats row 0 and drops it */
    for (size_t v = 0; v < TILE_NV; v++) {
      acc[i][v] = (TILE_VEC){0};
    }
  }
  if (load) {
    for (size_t i = 0; i < mr; i++) {
      if (nr == NR) {
        memcpy(acc[i], c + i * ldc, sizeof acc[i]);
      } else {
        float t[NR] = {0};
        memcpy(t, c + i * ldc, nr * sizeof(float));
        memcpy(acc[i], t, sizeof t);
      }
    }
  }
  for (size_t p = 0; p < kc; p++) {
    TILE_VEC bv[TILE_NV];
    memcpy(bv, b + p * ldb, sizeof bv);
    for (size_t i = 0; i < TILE_MR; i++) {
      float s = row[i][p];
      for (size_t v = 0; v < TILE_NV; v++) {
        acc[i][v] = acc[i][v] + s * bv[v];
      }
    }
  }
  for (size_t i = 0; i < mr; i++) {
    if (nr == NR) {
      memcpy(c + i * ldc, acc[i], sizeof acc[i]);
    } else {
      float t[NR];
      memcpy(t, acc[i], sizeof t);
      memcpy(c + i * ldc, t, nr * sizeof(float));
    }
  }
}
