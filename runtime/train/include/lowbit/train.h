/* The lowbit training engine (docs/design.md, section 22): a model is a sequence of layers, each a
 * forward/backward pair, whose parameters, activations, errors, gradients and optimizer state live
 * in one arena sized from the model at creation.
 *
 * Layouts are NHWC as in lowbit/operators.h: the input is [batch][in_h][in_w][in_c] floats, a
 * conv2d's weights [out_c][kernel][kernel][in_c], a dense layer's [out_c][in_features].
 *
 * Number formats, per layer and tensor kind (lb_train_tensor_kind):
 * - a conv2d or dense layer whose weights, activations and errors are all LB_NUMBER_FIXED is an
 *   integer layer: its input is quantized to activation codes <wl_a, fl_a> and its output error
 *   to error codes <wl_e, fl_e> (lb_quantize_fixed_f32), its weights are codes <wl_w, fl_w>, and
 *   the products are the exact sums of lb_conv2d_run / lb_dense_run (LB_OUTPUT_SUMS) and
 *   lb_*_backward_data / _weights, scaled back by 2^-(fl_a + fl_w), 2^-(fl_e + fl_w) and (for the
 *   update) 2^-(fl_e + fl_a). A fixed gradient format <wl_g, fl_g> rounds the weight-gradient sums
 *   to it first (lb_quantize_fixed_i32/_i64); a float one hands the exact sums to the optimizer.
 *   The bias is held in the weights' format and updated with the float bias gradient.
 * - every other conv2d or dense layer runs plain C loops in float (the reference path), each
 *   tensor passing through its format's quantizer first (float: unchanged; fixed, minifloat, BFP
 *   and LNS: rounded to the format and decoded, the simulation view), with float weights.
 * - relu, maxpool, flatten and softmax-cross-entropy pass floats and have no format.
 * Rounding is per tensor kind (LB_ROUND_NEAREST or LB_ROUND_STOCHASTIC); stochastic rounding
 * draws the bits of element i of a tensor from lb_random_bits(seed, lb_train_stream(step, layer,
 * tensor), i), so a run depends on the seed alone, never on the thread count.
 *
 * Include this header on its own. */
#ifndef LOWBIT_TRAIN_H
#define LOWBIT_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/block_float.h"
#include "lowbit/fixed_point.h"
#include "lowbit/lns.h"
#include "lowbit/lowbit.h"
#include "lowbit/minifloat.h"
#include "lowbit/update.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum lb_train_layer_kind {
  LB_LAYER_CONV2D = 0,
  LB_LAYER_DENSE = 1,
  LB_LAYER_RELU = 2,
  LB_LAYER_MAXPOOL = 3, /* 2x2, stride 2; odd trailing rows and columns are dropped */
  LB_LAYER_FLATTEN = 4,
  LB_LAYER_SOFTMAX_XENT = 5 /* the last layer: softmax and the cross-entropy against labels */
} lb_train_layer_kind;

typedef enum lb_number_kind {
  LB_NUMBER_FLOAT = 0,
  LB_NUMBER_FIXED = 1,     /* lowbit/fixed_point.h */
  LB_NUMBER_MINIFLOAT = 2, /* lowbit/minifloat.h */
  LB_NUMBER_BFP = 3,       /* lowbit/block_float.h, blocks along each row's last dimension */
  LB_NUMBER_LNS = 4        /* lowbit/lns.h */
} lb_number_kind;

typedef struct lb_number_format {
  lb_number_kind kind;
  lb_rounding rounding;
  lb_fixed_format fixed;
  lb_minifloat_format minifloat;
  lb_bfp_format bfp;
  lb_lns_format lns;
} lb_number_format;

/* The bits a format spends per value (32 for float), as the BitOPs counter takes them. */
unsigned lb_number_format_bits(const lb_number_format *format);

typedef enum lb_train_tensor_kind {
  LB_TENSOR_WEIGHTS = 0,
  LB_TENSOR_ACTIVATIONS = 1, /* the layer's input, as its product reads it */
  LB_TENSOR_ERRORS = 2,      /* the error of the layer's output, as its backward products read it */
  LB_TENSOR_GRADIENTS = 3,   /* the weight gradient handed to the optimizer */
  LB_TENSOR_KINDS = 4
} lb_train_tensor_kind;

typedef struct lb_train_layer_desc {
  lb_train_layer_kind kind;
  size_t out_c;         /* conv2d: output channels; dense: output features */
  unsigned kernel;      /* conv2d: square kernel 1..7 */
  unsigned stride, pad; /* conv2d: stride 1..4, zero padding on every side */
  lb_number_format format[LB_TENSOR_KINDS];
} lb_train_layer_desc;

typedef struct lb_train_model lb_train_model;

/* A parameter tensor as an optimizer sees it: `count` elements of layer `layer` (`index` 0 for
 * the weights, 1 for the bias), with `codes` (fixed-point codes of `format`, or NULL for float
 * parameters), `values` (the float weights, or a float master copy, or NULL) and `state` (the
 * optimizer's state_bytes of arena). The gradient is `gradient` of `gradient_source` (enum
 * lb_fixed_source) standing for gradient * 2^-gradient_fl. */
typedef struct lb_train_param {
  size_t layer;
  unsigned index;
  size_t count;
  size_t
      row_length; /* the weights' dot-product length (count / output features); count for a bias */
  lb_fixed_format format;
  lb_rounding rounding; /* of the weights' format */
  int fixed;            /* codes hold the parameter */
  void *codes;
  float *values;
  void *state;
  const void *gradient;
  int gradient_source;
  int gradient_fl;
  unsigned threads; /* the model's, for liblowbit calls (results do not depend on it) */
} lb_train_param;

/* The optimizer interface: state_bytes sizes a parameter's state in the arena, init fills it
 * (the arena is zeroed first), step updates one parameter with its gradient. step gets the
 * global step number and the run's seed and the stream base of the parameter (distinct per step,
 * layer and parameter; stream_base + 0 .. 7 are the optimizer's). Built in: lb_train_sgd. */
typedef struct lb_train_optimizer {
  const char *name;
  size_t (*state_bytes)(const void *config, const lb_train_param *param);
  lb_status (*init)(const void *config, lb_train_param *param);
  lb_status (*step)(const void *config, lb_train_param *param, uint64_t step, uint64_t seed,
                    uint64_t stream_base);
  const void *config;
  /* Optional: *refused = the gradients step would refuse (NaN, infinite, out of its range),
   * writing nothing. A loss-scaled step checks every parameter before updating any; NULL: only
   * float gradients are checked, for NaN and infinities. */
  lb_status (*check)(const void *config, const lb_train_param *param, size_t *refused);
} lb_train_optimizer;

/* SGD with momentum: v <- mu v + g + lambda w, w <- w - eta v. Fixed-point parameters go through
 * lb_sgd_update (codes in place with stochastic or nearest rounding per the weights' format and
 * a momentum <16, momentum_fl> when master is LB_SGD_MASTER_NONE, or a float master and momentum
 * with LB_SGD_MASTER_F32); float parameters through plain float loops in the same order.
 *
 * master_format is the master copy of the float-path layers' parameters (the weights those
 * layers round to their weights' format each forward pass): LB_NUMBER_FLOAT (zero-initialized:
 * float32), or a LB_NUMBER_MINIFLOAT or LB_NUMBER_BFP format of at most 16 bits (E5M10 = IEEE
 * half; bfp:15:N). Such a master is held as codes in the optimizer state (BFP: with its
 * exponents, blocks along each weight row, the dot-product dimension; a bias is one row), w above
 * is computed in float from the decoded master and rounded back to the format with its
 * rounding (stochastic: stream_base + 2), and the parameter's float values are set to the decoded
 * codes. The momentum stays float32. Fixed-point parameters ignore it. */
typedef struct lb_train_sgd_config {
  float learning_rate, momentum, weight_decay;
  int master;              /* enum lb_sgd_master: LB_SGD_MASTER_NONE or LB_SGD_MASTER_F32 */
  int momentum_extra_bits; /* the momentum's fl is the weights' fl plus this, at most 32 */
  lb_number_format master_format;
} lb_train_sgd_config;

/* The SGD optimizer with `config` (which must outlive the model). */
lb_train_optimizer lb_train_sgd(const lb_train_sgd_config *config);

/* The backward-path interface: run computes every trainable layer's gradients after a forward
 * pass, through lb_train_layer_error and lb_train_layer_backward. Built in: lb_train_backprop
 * (the error of each layer's output is the previous backward's input error). */
typedef struct lb_train_backward_path {
  const char *name;
  lb_status (*run)(lb_train_model *model, const void *config);
  const void *config;
} lb_train_backward_path;

lb_train_backward_path lb_train_backprop(void);

/* Precision schedules of the forward bits (weights and activations) of integer layers. */
typedef enum lb_schedule_kind {
  LB_SCHEDULE_FIXED = 0, /* the layers' own formats */
  /* cyclic (CPT, Fu et al. 2021): b(t) = round(b_min + (b_max - b_min) * (1 + cos(pi * (t mod
   * P) / P + pi)) / 2), P = max(1, total_steps / cycles), ties away from zero; the layers' fl
   * shrinks with the bits (fl - (wl - b(t))), so the range stays and the step coarsens. The
   * weights and activations of integer layers must then have wl = fw_max, and fw_min codes the
   * same bytes as fw_max (both up to 8 bits, or both above). Evaluation runs at wl. */
  LB_SCHEDULE_CYCLIC = 1
} lb_schedule_kind;

typedef struct lb_precision_schedule {
  lb_schedule_kind kind;
  unsigned fw_min, fw_max; /* cyclic: 2 <= fw_min <= fw_max <= 16 */
  uint64_t total_steps;
  unsigned cycles; /* 32 in the CPT paper */
} lb_precision_schedule;

/* The forward bits at step t; 0 for a NULL or invalid schedule or a fixed one. The cosine is
 * computed with IEEE double basic operations only (no libm), the same on every target. */
unsigned lb_schedule_fw_bits(const lb_precision_schedule *schedule, uint64_t t);

/* The BitOPs counter: a sum over multiply-accumulates of (b_fw^2 + 2 b_fw b_bw) (one forward and
 * two backward products per MAC), REFERENCE.md section 6. */
typedef struct lb_bitops_counter {
  double macs;   /* forward MACs counted */
  double bitops; /* sum of macs * (b_fw^2 + 2 b_fw b_bw) */
} lb_bitops_counter;

void lb_bitops_add(lb_bitops_counter *counter, double macs, unsigned fw_bits, unsigned bw_bits);
/* The counted cost over that of the same MACs at static fw/bw bits; 0 when nothing is counted.
 * Against float: lb_bitops_relative(counter, 32, 32). */
double lb_bitops_relative(const lb_bitops_counter *counter, unsigned fw_bits, unsigned bw_bits);

typedef struct lb_train_model_desc {
  size_t batch, in_h, in_w, in_c;
  size_t layer_count;
  const lb_train_layer_desc *layers;
  size_t classes;                              /* the softmax-cross-entropy's inputs */
  const lb_train_optimizer *optimizer;         /* NULL: plain SGD, learning rate 0.01 */
  const lb_train_backward_path *backward_path; /* NULL: backpropagation */
  lb_precision_schedule schedule;
  uint64_t seed;
  unsigned
      threads; /* handed to liblowbit's operators and quantizers; results do not depend on it */
  /* NULL: no loss scaling (a refused gradient leaves that tensor alone, the others are updated).
   * Else (copied at create) every step runs with the scale S = 2^e of lb_loss_scale (lowbit/
   * update.h): the loss error is multiplied by S before the backward pass and the gradients are
   * handed over with gradient_fl + e; after the backward pass every parameter is checked (the
   * optimizer's check) and the step is unclean when any gradient is refused or any error or
   * gradient tensor of a minifloat format held a value past its largest finite magnitude or a NaN
   * (the quantizer saturates what IEEE-style FP8 would make infinite). lb_loss_scale_update then
   * decides: an unclean step updates nothing and returns LB_BAD_GRADIENT. */
  const lb_loss_scale_config *loss_scale;
} lb_train_model_desc;

/* Validates the description (LB_INVALID_ARGUMENT for a shape or format that does not fit, a fixed
 * gradient format finer than the sums 2^-(fl_e + fl_a) of its layer, activations and weights
 * codes of different bytes (one up to 8 bits, the other above): the
 * layer sequence must end in softmax-cross-entropy over `classes` features, conv2d and maxpool
 * need an image, dense a flattened input), allocates the arena, creates the integer layers'
 * operators and initializes the weights (He uniform, from the seed; biases zero). The
 * descriptors and the optimizer's config must outlive the model. */
lb_status lb_train_model_create(const lb_train_model_desc *desc, lb_train_model **model);
void lb_train_model_destroy(lb_train_model *model);

/* The peak memory of training: the arena's bytes (parameters, activations, errors, gradients,
 * codes, optimizer state and the largest scratch), fixed at create; the liblowbit operators of
 * integer layers hold their packed weights and run workspaces outside it. 0 for NULL. */
size_t lb_train_model_memory(const lb_train_model *model);

/* One training step on a batch: input [batch][in_h][in_w][in_c], labels [batch] in 0..classes-1.
 * Forward, the backward path, then the optimizer on every parameter; the step counter advances.
 * *loss (may be NULL) gets the mean cross-entropy, *correct (may be NULL) the number of argmax
 * hits. LB_INVALID_ARGUMENT for NULL or a label out of range; an optimizer's LB_BAD_GRADIENT is
 * returned after the other parameters were updated. */
lb_status lb_train_step(lb_train_model *model, const float *input, const uint8_t *labels,
                        float *loss, size_t *correct);

/* A forward pass only (no step counted, activations rounded to nearest): the loss and the hits
 * as above. */
lb_status lb_train_evaluate(lb_train_model *model, const float *input, const uint8_t *labels,
                            float *loss, size_t *correct);

/* For backward paths: the number of layers; layer i's output error (float, the layer's output
 * shape, written by the path before lb_train_layer_backward(i)); its output activations (after
 * the forward pass) and their element count. */
size_t lb_train_layer_count(const lb_train_model *model);
float *lb_train_layer_error(lb_train_model *model, size_t layer, size_t *count);
const float *lb_train_layer_output(const lb_train_model *model, size_t layer, size_t *count);
/* Layer i's backward from its output error: its gradients and, when input_error is set and i > 0,
 * the error of its input (layer i - 1's output error). */
lb_status lb_train_layer_backward(lb_train_model *model, size_t layer, int input_error);

/* Layer i's parameters as float values (weights then bias; fixed codes decoded), for tests and
 * export: *count elements written when values is not NULL; LB_INVALID_ARGUMENT past the layers. */
lb_status lb_train_layer_params(const lb_train_model *model, size_t layer, float *values,
                                size_t *count);
/* Overwrites layer i's parameters from float values (fixed layers: rounded to nearest codes) and
 * re-initializes its optimizer state. */
lb_status lb_train_layer_set_params(lb_train_model *model, size_t layer, const float *values);

/* The counted BitOPs of the run so far (integer layers at their bits, float layers at 32). */
const lb_bitops_counter *lb_train_model_bitops(const lb_train_model *model);
uint64_t lb_train_model_step(const lb_train_model *model);
/* The forward bits the schedule gives the current step; 0 for a fixed schedule (the layers own). */
unsigned lb_train_model_fw_bits(const lb_train_model *model);
/* Forces the forward bits of every integer layer's weights and activations for the coming steps,
 * over the schedule (0: the schedule again), as the precision range test of CPT raises them step
 * by step; the fl shrink with the bits as under the cyclic schedule. Not part of the saved state.
 * LB_INVALID_ARGUMENT for NULL, bits 1, or bits above an integer layer's weights or activations
 * wl or of other code bytes (one up to 8 bits, the other above), or that leave the weight-gradient
 * sums finer than a fixed gradient format (as lb_train_model_create checks the schedule). */
lb_status lb_train_model_set_fw_bits(lb_train_model *model, unsigned bits);

/* The loss-scale state (the scale the next step uses, the skipped steps); NULL without loss
 * scaling. */
const lb_loss_scale *lb_train_model_loss_scale(const lb_train_model *model);

/* The model's whole training state as bytes, for checkpoints: the step, the BitOPs counter, the
 * loss-scale state when there is one (log2 scale, floor, clean steps, its step, skipped), and
 * per conv2d or dense layer its weights and bias (codes or floats) and the optimizer's state
 * (which must therefore be plain bytes, as lb_train_sgd's is). Everything else a step reads is
 * derived from these, the description and the seed, so a model created from the same description
 * and loaded with these bytes continues bit for bit. The bytes are the host's representation
 * (little-endian on every target of the project); their count depends on the description only. */
size_t lb_train_model_state_bytes(const lb_train_model *model);
/* Writes exactly lb_train_model_state_bytes bytes; LB_INVALID_ARGUMENT for NULL or another size. */
lb_status lb_train_model_save_state(const lb_train_model *model, void *out, size_t bytes);
/* Overwrites the state from save_state's bytes; LB_INVALID_ARGUMENT for NULL or another size
 * (nothing is changed then). */
lb_status lb_train_model_load_state(lb_train_model *model, const void *in, size_t bytes);

/* The random stream of tensor `tensor` (0..31) of layer `layer` (below 2^19, as the models) at step
 * `step`: (step << 24) ^ (layer << 5) ^ tensor. */
uint64_t lb_train_stream(uint64_t step, size_t layer, unsigned tensor);

#ifdef __cplusplus
}
#endif

#endif
