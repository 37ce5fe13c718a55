/* The machinery behind lb_conv2d and lb_dense (a dense layer is a 1x1 convolution of a 1x1 image
 * with batch rows): the kernel, the prepacked W panels of every group, the output stage, and runs
 * that pack the activations unit by unit into a per-run workspace (docs/design.md, section 12).
 *
 * Dimension letters: M = rows = batch * out_h * out_w output pixels (the GEMM's rows), per group
 * N = group_out_c output channels and K = taps * group_in_c, taps = kernel_h * kernel_w. */
#ifndef LOWBIT_OPERATOR_H
#define LOWBIT_OPERATOR_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/operators.h"
#include "output.h"
#include "plan.h"

/* A checked convolution shape: every element count of input, weights and output fits size_t
 * in bytes. */
typedef struct lb_conv_geometry {
  size_t batch, in_h, in_w, in_c, out_h, out_w, out_c;
  size_t kernel_h, kernel_w, stride_h, stride_w, dilation_h, dilation_w, pad_top, pad_left;
  int padded; /* any of the four paddings is not 0 */
  size_t groups, group_in_c, group_out_c;
  size_t taps, k, rows;
} lb_conv_geometry;

/* The input position that output position `out` reads at kernel tap `tap` along one dimension,
 * or SIZE_MAX where the tap falls into the padding. */
static inline size_t lb_conv_input_position(size_t out, size_t tap, size_t stride, size_t dilation,
                                            size_t pad, size_t in_size) {
  const size_t padded = out * stride + tap * dilation;
  return padded >= pad && padded - pad < in_size ? padded - pad : SIZE_MAX;
}

/* One work unit of a run: output rows [first_row, first_row + rows) of one group, its output
 * channels [first_column, first_column + columns) (counted from the group's first). */
typedef struct lb_run_unit {
  const unsigned char *input;
  size_t group, first_row, rows, first_column, columns;
} lb_run_unit;

/* The operator behind both public types: an lb_conv2d, and the one an lb_dense holds. */
typedef struct lb_conv2d lb_operator;

/* Packs the A panels of a unit into plan->a (packed panels and, if not NULL, code sums), with the
 * scratch that create sized for it in the slot. One function per way of reading the activations,
 * chosen at create (pack_a.c); a pack that quantizes float input would be one more, with its
 * arguments in the operator. */
typedef void (*lb_pack_a_unit_fn)(const lb_operator *op, const lb_run_unit *unit,
                                  lb_gemm_plan *plan, void *scratch);

struct lb_conv2d {
  lb_conv_geometry geometry;
  lb_operand a, w;
  const lb_gemm_kernel_info *kernel;
  int sums64;       /* the exact sums are int64_t, else int32_t */
  unsigned threads; /* of a run */
  lb_pack_a_unit_fn pack_a_unit;
  size_t input_bytes;        /* of one input element: a's source element, or a float */
  lb_quantize_args quantize; /* LB_INPUT_FLOAT */
  size_t unit_rows;          /* rows per unit, a multiple of MR */
  size_t unit_columns;       /* columns per unit, a multiple of NR: the group's N unless rows alone
                                give too few units (dense layers of batch 1) */
  /* W of group g: w_panels panels of w_panel_bytes from w_packed + g * w_group_bytes, their rows'
   * code sums (NULL when the corrections need none) from w_code_sums + g * w_panels * NR. */
  size_t w_panels, w_panel_bytes, w_group_bytes;
  unsigned char *w_packed;
  int64_t *w_code_sums;
  /* The run of group_in_c input elements that padding taps point at: the zero point (float
   * input: 0.0, which quantizes to it), or +1 for bipolar activations, whose border outputs
   * tap_sums[tap * out_c + oc] corrects (padding.c). */
  unsigned char *pad_run;
  int64_t *tap_sums;
  lb_output_stage output;
  /* One slot of a run's workspace per thread: A panels, A code sums, scratch, the sums tile
   * (not for LB_OUTPUT_SUMS, which the kernels store in the output itself). */
  size_t slot_bytes, slot_a_sums, slot_scratch, slot_tile;
};

/* Whether lb_conv2d_create accepts the descriptor (conv2d.c); if so, *g is its shape. */
int lb_conv2d_desc_is_valid(const lb_conv2d_desc *desc, lb_conv_geometry *g);

/* Creates the operator of a valid descriptor whose shape is `geometry`. */
lb_status lb_operator_create(const lb_conv2d_desc *desc, const lb_conv_geometry *geometry,
                             const void *weights, lb_operator **op);
/* Packs weights [out_c][taps][group_in_c] into the operator's panels and its tap sums. */
void lb_operator_pack_weights(lb_operator *op, const void *weights);
lb_status lb_operator_run(const lb_operator *op, const void *input, void *output);
void lb_operator_destroy(lb_operator *op);

/* The indirection buffer of a unit: pointers[r * taps + t] is the run of group_in_c input
 * elements (of op->input_bytes each) that row first_row + r reads at tap t, or op->pad_run in the
 * padding. */
void lb_indirection_build(const lb_operator *op, const lb_run_unit *unit, const void **pointers);

/* The A pack steps (pack_a.c): through an indirection buffer in the scratch (float input always,
 * quantized as it is packed), or, when codes are the A matrix itself (1x1 kernel, stride 1, no
 * padding), from the input rows. */
void lb_pack_a_unit_indirect(const lb_operator *op, const lb_run_unit *unit, lb_gemm_plan *plan,
                             void *scratch);
void lb_pack_a_unit_rows(const lb_operator *op, const lb_run_unit *unit, lb_gemm_plan *plan,
                         void *scratch);

/* Padding (padding.c): fills op->pad_run with the zero point; computes op->tap_sums from the
 * weights; subtracts the padded taps' weight sums from the exact sums c (the unit's rows and
 * columns, row stride ldc) of a unit's border rows. */
void lb_padding_fill_run(lb_operator *op, int32_t zero_point);
void lb_padding_tap_sums(lb_operator *op, const void *weights);
void lb_padding_correct_bipolar(const lb_operator *op, const lb_run_unit *unit, void *c,
                                size_t ldc);

#endif
