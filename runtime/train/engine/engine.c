/* The training engine (lowbit/train.h, docs/design.md section 22). */
#pragma STDC FP_CONTRACT OFF

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "float_layers.h"
#include "layer_loops.h"
#include "lowbit/backward.h"
#include "lowbit/operators.h"
#include "lowbit/train.h"
#include "train_math.h"

#define ALIGN 64u
/* Channels the bias loops handle at once: one pass over the rows per block of them. */
#define BIAS_BLOCK 64u

/* Streams of a layer per step; the optimizer gets 16..23 (weights) and 24..31 (bias). */
enum {
  STREAM_ACT = 0,
  STREAM_WFWD = 1,
  STREAM_ERR = 2,
  STREAM_GRAD = 3,
  STREAM_OPT_W = 16,
  STREAM_OPT_B = 24
};

typedef struct layer {
  const lb_train_layer_desc *d;
  size_t in_h, in_w, in_c, out_h, out_w, out_c;
  size_t in_count, out_count; /* per image */
  size_t k;                   /* dot-product length of conv2d and dense */
  size_t wcount, bcount;
  int integer;
  unsigned wbytes; /* bytes of a weight or activation code (integer layers) */
  unsigned ebytes; /* bytes of an error code */
  float *w, *b;    /* float weights and bias (float layers) */
  void *wq, *bq;   /* codes of <wl_w, fl_w> (integer layers) */
  void *wfwd;      /* the forward codes at the schedule's bits (integer layers) */
  unsigned wfwd_bits;
  int wfwd_fl, afl; /* the forward fl of the weights and of this step's activations */
  int weights_dirty;
  void *wstate, *bstate;
  float *gw, *gb; /* float gradients (gw: float layers; gb: every layer) */
  void *gw_sums;  /* integer layers: dW sums (8 bytes each), or widened gradient codes */
  int gw_source, gw_fl;
  float *out, *err;
  void *xq;           /* integer layers: activation codes */
  double *bias_value; /* integer layers: the bias codes' values, for the forward conversion */
  float *xsim, *wsim; /* float layers with a non-float format: the rounded input and weights */
  float *cols;        /* float conv2d: the input's columns, from the forward pass to the backward */
  uint32_t *argmax;   /* maxpool */
  lb_conv2d *conv;
  lb_dense *dense;
  lb_conv2d_backward *convb;
  lb_dense_backward *denseb;
  lb_out_type fwd_type, dx_type, dw_type;
} layer;

struct lb_train_model {
  lb_train_model_desc desc;
  lb_train_optimizer optimizer;
  lb_train_sgd_config default_sgd;
  lb_train_backward_path path;
  layer *layers;
  size_t count;
  unsigned char *arena;
  size_t arena_bytes;
  void *scratch; /* the largest per-call scratch */
  void *scratch2;
  float *f32_work; /* the float layers' workspace (float_layers.h) */
  const float *input;
  const uint8_t *labels;
  uint64_t step;
  int training;
  unsigned fw_bits;   /* of the current pass; 0: the layers' own */
  unsigned fw_forced; /* lb_train_model_set_fw_bits; 0: the schedule's */
  lb_bitops_counter bitops;
  int scaled;          /* loss scaling: desc.loss_scale was given */
  lb_loss_scale scale; /* its state */
  int grad_log2;       /* the log2 scale of the gradients of the last backward pass */
  int overflow;        /* that pass saturated a minifloat error or gradient, or held a NaN */
};

static int is_param_layer(const layer *l) {
  return l->d->kind == LB_LAYER_CONV2D || l->d->kind == LB_LAYER_DENSE;
}

uint64_t lb_train_stream(uint64_t step, size_t layer, unsigned tensor) {
  return (step << 24) ^ ((uint64_t)layer << 5) ^ (uint64_t)(tensor & 31u);
}

static unsigned code_bytes(unsigned wl) { return wl <= 8 ? 1u : 2u; }

static int32_t code_at(const void *codes, unsigned bytes, size_t i) {
  return bytes == 1 ? ((const int8_t *)codes)[i] : ((const int16_t *)codes)[i];
}

unsigned lb_number_format_bits(const lb_number_format *f) {
  switch (f->kind) {
  case LB_NUMBER_FIXED: return f->fixed.wl;
  case LB_NUMBER_MINIFLOAT: return 1 + f->minifloat.exponent_bits + f->minifloat.mantissa_bits;
  case LB_NUMBER_BFP: return f->bfp.mantissa_bits + 1;
  case LB_NUMBER_LNS: return f->lns.bits;
  default: return 32;
  }
}

static int format_valid(const lb_number_format *f) {
  if (f->rounding != LB_ROUND_NEAREST && f->rounding != LB_ROUND_STOCHASTIC) {
    return 0;
  }
  switch (f->kind) {
  case LB_NUMBER_FLOAT: return 1;
  case LB_NUMBER_FIXED:
    return f->fixed.wl >= 2 && f->fixed.wl <= 16 && f->fixed.fl >= -32 && f->fixed.fl <= 32;
  case LB_NUMBER_MINIFLOAT: return lb_minifloat_code_bytes(&f->minifloat) != 0;
  case LB_NUMBER_BFP: return lb_bfp_code_bytes(&f->bfp) != 0 && f->bfp.block >= 1;
  case LB_NUMBER_LNS: return lb_lns_code_bytes(&f->lns) != 0;
  }
  return 0;
}

/* Rounds x [rows][k] to the format's values into y (the simulation view); scratch holds 4 bytes
 * per element. */
static lb_status simulate(const lb_train_model *m, const lb_number_format *f, lb_rounding rounding,
                          uint64_t stream, size_t rows, size_t k, const float *x, float *y) {
  size_t n = rows * k;
  uint64_t seed = m->desc.seed;
  unsigned threads = m->desc.threads;
  lb_status s = LB_OK;
  switch (f->kind) {
  case LB_NUMBER_FLOAT:
    if (y != x) {
      memcpy(y, x, n * sizeof(float));
    }
    return LB_OK;
  case LB_NUMBER_FIXED: {
    s = lb_quantize_fixed_f32(&f->fixed, rounding, seed, stream, 0, n, x, m->scratch2, threads);
    double step = lb_train_pow2(-f->fixed.fl);
    unsigned bytes = code_bytes(f->fixed.wl);
    for (size_t i = 0; i < n && s == LB_OK; i++) {
      y[i] = (float)(code_at(m->scratch2, bytes, i) * step);
    }
    return s;
  }
  case LB_NUMBER_MINIFLOAT:
    return lb_quantize_minifloat(&f->minifloat, rounding, seed, stream, 0, n, x, y, threads);
  case LB_NUMBER_BFP: {
    lb_bfp_format bf = f->bfp;
    if (bf.block > k) {
      bf.block = k;
    }
    int16_t *exponents = (int16_t *)((unsigned char *)m->scratch2 + 2 * n);
    s = lb_quantize_bfp_f32(&bf, rounding, seed, stream, 0, rows, k, x, m->scratch2, exponents,
                            threads);
    return s == LB_OK ? lb_bfp_decode(&bf, rows, k, m->scratch2, exponents, y) : s;
  }
  case LB_NUMBER_LNS:
    s = lb_quantize_lns(&f->lns, rounding, seed, stream, 0, n, x, m->scratch2, threads);
    return s == LB_OK ? lb_lns_decode(&f->lns, n, m->scratch2, y) : s;
  }
  return LB_INVALID_ARGUMENT;
}

static lb_rounding pass_rounding(const lb_train_model *m, const lb_number_format *f) {
  return m->training ? f->rounding : LB_ROUND_NEAREST;
}

/* ---- shapes and the arena ---- */

static lb_status plan_shapes(lb_train_model *m) {
  const lb_train_model_desc *d = &m->desc;
  size_t h = d->in_h, w = d->in_w, c = d->in_c;
  int flat = 0;
  for (size_t i = 0; i < m->count; i++) {
    layer *l = &m->layers[i];
    const lb_train_layer_desc *ld = l->d;
    l->in_h = h, l->in_w = w, l->in_c = c;
    for (int t = 0; t < LB_TENSOR_KINDS; t++) {
      if (!format_valid(&ld->format[t])) {
        return LB_INVALID_ARGUMENT;
      }
    }
    if ((ld->kind == LB_LAYER_SOFTMAX_XENT) != (i + 1 == m->count)) {
      return LB_INVALID_ARGUMENT;
    }
    switch (ld->kind) {
    case LB_LAYER_CONV2D:
      if (flat || ld->out_c == 0 || ld->kernel < 1 || ld->kernel > 7 || ld->stride < 1 ||
          ld->stride > 4 || h + 2 * ld->pad < ld->kernel || w + 2 * ld->pad < ld->kernel) {
        return LB_INVALID_ARGUMENT;
      }
      h = (h + 2 * ld->pad - ld->kernel) / ld->stride + 1;
      w = (w + 2 * ld->pad - ld->kernel) / ld->stride + 1;
      l->k = (size_t)ld->kernel * ld->kernel * c;
      c = ld->out_c;
      l->wcount = l->k * c, l->bcount = c;
      break;
    case LB_LAYER_DENSE:
      if (!flat || ld->out_c == 0) {
        return LB_INVALID_ARGUMENT;
      }
      l->k = c;
      c = ld->out_c;
      l->wcount = l->k * c, l->bcount = c;
      break;
    case LB_LAYER_RELU: break;
    case LB_LAYER_MAXPOOL:
      if (flat || h < 2 || w < 2) {
        return LB_INVALID_ARGUMENT;
      }
      h /= 2, w /= 2;
      break;
    case LB_LAYER_FLATTEN: c = h * w * c, h = 1, w = 1, flat = 1; break;
    case LB_LAYER_SOFTMAX_XENT:
      if (!flat || c != d->classes || c < 2) {
        return LB_INVALID_ARGUMENT;
      }
      break;
    default: return LB_INVALID_ARGUMENT;
    }
    l->out_h = h, l->out_w = w, l->out_c = c;
    l->in_count = l->in_h * l->in_w * l->in_c, l->out_count = h * w * c;
    l->integer = is_param_layer(l) && ld->format[LB_TENSOR_WEIGHTS].kind == LB_NUMBER_FIXED &&
                 ld->format[LB_TENSOR_ACTIVATIONS].kind == LB_NUMBER_FIXED &&
                 ld->format[LB_TENSOR_ERRORS].kind == LB_NUMBER_FIXED;
    if (l->integer) {
      unsigned wl = ld->format[LB_TENSOR_WEIGHTS].fixed.wl;
      unsigned al = ld->format[LB_TENSOR_ACTIVATIONS].fixed.wl;
      if (code_bytes(wl) != code_bytes(al)) {
        return LB_INVALID_ARGUMENT;
      }
      if (d->schedule.kind == LB_SCHEDULE_CYCLIC &&
          (wl != d->schedule.fw_max || al != d->schedule.fw_max ||
           code_bytes(d->schedule.fw_min) != code_bytes(wl))) {
        return LB_INVALID_ARGUMENT;
      }
      /* the weight-gradient sums sit on 2^-(fl_e + fl_a'), fl_a' smallest at the schedule's
       * lowest bits; a fixed gradient format may only drop fraction bits from them */
      const lb_number_format *gf = &ld->format[LB_TENSOR_GRADIENTS];
      int lowest = d->schedule.kind == LB_SCHEDULE_CYCLIC ? (int)d->schedule.fw_min : (int)al;
      int sum_fl = ld->format[LB_TENSOR_ERRORS].fixed.fl +
                   ld->format[LB_TENSOR_ACTIVATIONS].fixed.fl - ((int)al - lowest);
      if (gf->kind == LB_NUMBER_FIXED &&
          (sum_fl < gf->fixed.fl || sum_fl - gf->fixed.fl + ((int)al - lowest) > 62)) {
        return LB_INVALID_ARGUMENT;
      }
      l->wbytes = code_bytes(wl);
      l->ebytes = code_bytes(ld->format[LB_TENSOR_ERRORS].fixed.wl);
    }
  }
  return LB_OK;
}

typedef struct carver {
  unsigned char *base;
  size_t offset;
} carver;

static void *carve(carver *c, size_t bytes) {
  if (bytes == 0) {
    return NULL;
  }
  size_t at = (c->offset + ALIGN - 1) / ALIGN * ALIGN;
  c->offset = at + bytes;
  return c->base ? c->base + at : NULL;
}

static lb_train_param param_of(lb_train_model *m, size_t i, unsigned index);

static lb_f32_shape f32_shape(const lb_train_model *m, const layer *l) {
  lb_f32_shape s = {m->desc.batch, l->in_h, l->in_w, l->in_c, l->out_h,       l->out_w,
                    l->out_c,      0,       0,       0,       m->desc.threads};
  if (l->d->kind == LB_LAYER_CONV2D) {
    s.kernel = l->d->kernel, s.stride = l->d->stride, s.pad = l->d->pad;
  } else {
    s.in_c = l->k;
  }
  return s;
}

/* Assigns every buffer; with a NULL base only sizes the arena. */
static void layout(lb_train_model *m, carver *c) {
  size_t batch = m->desc.batch, scratch = 0, scratch2 = 0, f32_work = 0;
  for (size_t i = 0; i < m->count; i++) {
    layer *l = &m->layers[i];
    size_t in = batch * l->in_count, out = batch * l->out_count;
    l->out = carve(c, out * sizeof(float));
    l->err = carve(c, out * sizeof(float));
    size_t biggest = in > out ? in : out;
    if (biggest < l->wcount) {
      biggest = l->wcount;
    }
    if (scratch2 < 4 * biggest) {
      scratch2 = 4 * biggest;
    }
    if (l->d->kind == LB_LAYER_MAXPOOL) {
      l->argmax = carve(c, out * sizeof(uint32_t));
    }
    if (!is_param_layer(l)) {
      continue;
    }
    l->gb = carve(c, l->bcount * sizeof(float));
    if (l->integer) {
      l->wq = carve(c, l->wcount * l->wbytes);
      l->bq = carve(c, l->bcount * l->wbytes);
      l->wfwd = carve(c, l->wcount * l->wbytes);
      l->xq = carve(c, in * l->wbytes);
      l->gw_sums = carve(c, l->wcount * sizeof(int64_t));
      l->bias_value = carve(c, l->bcount * sizeof(double));
      size_t need = 8 * biggest; /* forward and dX sums, widened codes, error codes */
      if (scratch < need) {
        scratch = need;
      }
    } else {
      l->w = carve(c, l->wcount * sizeof(float));
      l->b = carve(c, l->bcount * sizeof(float));
      l->gw = carve(c, l->wcount * sizeof(float));
      if (l->d->format[LB_TENSOR_ACTIVATIONS].kind != LB_NUMBER_FLOAT) {
        l->xsim = carve(c, in * sizeof(float));
      }
      if (l->d->format[LB_TENSOR_WEIGHTS].kind != LB_NUMBER_FLOAT) {
        l->wsim = carve(c, l->wcount * sizeof(float));
      }
      if (scratch < out * sizeof(float)) {
        scratch = out * sizeof(float); /* the rounded error */
      }
      lb_f32_shape shape = f32_shape(m, l);
      l->cols = carve(c, lb_f32_cols_floats(&shape) * sizeof(float));
      size_t work = lb_f32_work_floats(&shape);
      if (f32_work < work) {
        f32_work = work;
      }
    }
    for (unsigned index = 0; index < 2; index++) {
      lb_train_param p = param_of(m, i, index);
      size_t bytes = m->optimizer.state_bytes(m->optimizer.config, &p);
      void *state = carve(c, bytes);
      if (index == 0) {
        l->wstate = state;
      } else {
        l->bstate = state;
      }
    }
  }
  m->scratch = carve(c, scratch);
  m->scratch2 = carve(c, scratch2);
  m->f32_work = carve(c, f32_work * sizeof(float));
}

static lb_train_param param_of(lb_train_model *m, size_t i, unsigned index) {
  layer *l = &m->layers[i];
  lb_train_param p;
  memset(&p, 0, sizeof p);
  p.layer = i;
  p.index = index;
  p.count = index == 0 ? l->wcount : l->bcount;
  p.row_length = index == 0 ? l->k : l->bcount;
  p.fixed = l->integer;
  if (l->integer) {
    p.format = l->d->format[LB_TENSOR_WEIGHTS].fixed;
    p.rounding = l->d->format[LB_TENSOR_WEIGHTS].rounding;
    p.codes = index == 0 ? l->wq : l->bq;
  } else {
    p.values = index == 0 ? l->w : l->b;
  }
  p.state = index == 0 ? l->wstate : l->bstate;
  p.threads = m->desc.threads;
  if (index == 1) {
    p.gradient = l->gb;
    p.gradient_source = LB_FIXED_SOURCE_F32;
    p.gradient_fl = 0;
  } else if (l->integer) {
    p.gradient = l->gw_sums;
    p.gradient_source = l->gw_source;
    p.gradient_fl = l->gw_fl;
  } else {
    p.gradient = l->gw;
    p.gradient_source = LB_FIXED_SOURCE_F32;
    p.gradient_fl = 0;
  }
  p.gradient_fl += m->grad_log2; /* removes the loss scale, exactly */
  return p;
}

/* ---- operators of integer layers ---- */

static lb_status create_operators(lb_train_model *m, layer *l) {
  const lb_train_layer_desc *ld = l->d;
  lb_operand a = {ld->format[LB_TENSOR_ACTIVATIONS].fixed.wl, LB_SIGNED};
  lb_operand w = {ld->format[LB_TENSOR_WEIGHTS].fixed.wl, LB_SIGNED};
  lb_operand dy = {ld->format[LB_TENSOR_ERRORS].fixed.wl, LB_SIGNED};
  lb_status s;
  if (ld->kind == LB_LAYER_CONV2D) {
    lb_conv2d_desc cd;
    memset(&cd, 0, sizeof cd);
    cd.batch = m->desc.batch, cd.in_h = l->in_h, cd.in_w = l->in_w, cd.in_c = l->in_c;
    cd.out_c = ld->out_c, cd.kernel_h = cd.kernel_w = ld->kernel;
    cd.stride_h = cd.stride_w = ld->stride, cd.dilation_h = cd.dilation_w = 1;
    cd.pad_top = cd.pad_bottom = cd.pad_left = cd.pad_right = ld->pad;
    cd.groups = 1, cd.a = a, cd.w = w, cd.strategy = LB_AUTO, cd.threads = m->desc.threads;
    cd.output = LB_OUTPUT_SUMS, cd.input = LB_INPUT_CODES;
    s = lb_conv2d_create(&cd, l->wfwd, &l->conv);
    if (s != LB_OK) {
      return s;
    }
    lb_conv2d_backward_desc bd = {cd, dy, LB_AUTO, m->desc.threads};
    s = lb_conv2d_backward_create(&bd, l->wfwd, &l->convb);
    if (s != LB_OK) {
      return s;
    }
    l->fwd_type = lb_gemm_output_type(a, w, l->k);
    l->dx_type = lb_conv2d_backward_data_type(l->convb);
    l->dw_type = lb_conv2d_backward_weights_type(l->convb);
  } else {
    lb_dense_desc dd;
    memset(&dd, 0, sizeof dd);
    dd.batch = m->desc.batch, dd.in_c = l->in_c, dd.out_c = ld->out_c, dd.a = a, dd.w = w;
    dd.strategy = LB_AUTO, dd.threads = m->desc.threads, dd.output = LB_OUTPUT_SUMS;
    dd.input = LB_INPUT_CODES;
    s = lb_dense_create(&dd, l->wfwd, &l->dense);
    if (s != LB_OK) {
      return s;
    }
    lb_dense_backward_desc bd = {dd, dy, LB_AUTO, m->desc.threads};
    s = lb_dense_backward_create(&bd, l->wfwd, &l->denseb);
    if (s != LB_OK) {
      return s;
    }
    l->fwd_type = lb_gemm_output_type(a, w, l->k);
    l->dx_type = lb_dense_backward_data_type(l->denseb);
    l->dw_type = lb_dense_backward_weights_type(l->denseb);
  }
  return LB_OK;
}

/* The forward weight codes at `bits` (the stored codes rounded, keeping the range) and the
 * operators re-packed with them when they changed. */
static lb_status prepare_weights(lb_train_model *m, size_t i, unsigned bits) {
  layer *l = &m->layers[i];
  const lb_number_format *wf = &l->d->format[LB_TENSOR_WEIGHTS];
  if (!l->weights_dirty && l->wfwd_bits == bits) {
    return LB_OK;
  }
  lb_status s = LB_OK;
  if (bits == wf->fixed.wl) {
    memcpy(l->wfwd, l->wq, l->wcount * l->wbytes);
  } else {
    int32_t *wide = m->scratch;
    for (size_t j = 0; j < l->wcount; j++) {
      wide[j] = code_at(l->wq, l->wbytes, j);
    }
    s = lb_quantize_fixed_i32(bits, wf->fixed.wl - bits, pass_rounding(m, wf), m->desc.seed,
                              lb_train_stream(m->step, i, STREAM_WFWD), 0, l->wcount, wide, l->wfwd,
                              m->desc.threads);
  }
  if (s == LB_OK) {
    s = l->conv ? lb_conv2d_set_weights(l->conv, l->wfwd) : lb_dense_set_weights(l->dense, l->wfwd);
  }
  if (s == LB_OK) {
    s = l->convb ? lb_conv2d_backward_set_weights(l->convb, l->wfwd)
                 : lb_dense_backward_set_weights(l->denseb, l->wfwd);
  }
  if (s == LB_OK) {
    l->weights_dirty = 0;
    l->wfwd_bits = bits;
    l->wfwd_fl = wf->fixed.fl - (int)(wf->fixed.wl - bits);
  }
  return s;
}

/* ---- forward ---- */

static const float *layer_input(const lb_train_model *m, size_t i) {
  return i == 0 ? m->input : m->layers[i - 1].out;
}

static unsigned forward_bits(const lb_train_model *m, const layer *l) {
  return m->fw_bits ? m->fw_bits : l->d->format[LB_TENSOR_WEIGHTS].fixed.wl;
}

static lb_status forward_param(lb_train_model *m, size_t i) {
  layer *l = &m->layers[i];
  const lb_train_layer_desc *d = l->d;
  size_t batch = m->desc.batch, in = batch * l->in_count;
  const float *x = layer_input(m, i);
  lb_status s;
  if (l->integer) {
    unsigned bits = forward_bits(m, l);
    s = prepare_weights(m, i, bits);
    if (s != LB_OK) {
      return s;
    }
    const lb_number_format *af = &d->format[LB_TENSOR_ACTIVATIONS];
    lb_fixed_format fa = {bits, af->fixed.fl - (int)(af->fixed.wl - bits)};
    l->afl = fa.fl;
    s = lb_quantize_fixed_f32(&fa, pass_rounding(m, af), m->desc.seed,
                              lb_train_stream(m->step, i, STREAM_ACT), 0, in, x, l->xq,
                              m->desc.threads);
    if (s == LB_OK) {
      s = l->conv ? lb_conv2d_run(l->conv, l->xq, m->scratch)
                  : lb_dense_run(l->dense, l->xq, m->scratch);
    }
    if (s != LB_OK) {
      return s;
    }
    double bstep = lb_train_pow2(-d->format[LB_TENSOR_WEIGHTS].fixed.fl);
    for (size_t oc = 0; oc < l->out_c; oc++) {
      l->bias_value[oc] = code_at(l->bq, l->wbytes, oc) * bstep;
    }
    lb_train_sums_to_output(m->scratch, l->fwd_type, batch * l->out_count / l->out_c, l->out_c,
                            lb_train_pow2(-(fa.fl + l->wfwd_fl)), l->bias_value, l->out,
                            m->desc.threads);
    return LB_OK;
  }
  const float *xs = x, *ws = l->w;
  if (l->xsim) {
    size_t rows = d->kind == LB_LAYER_DENSE ? batch : batch * l->in_h * l->in_w;
    s = simulate(m, &d->format[LB_TENSOR_ACTIVATIONS],
                 pass_rounding(m, &d->format[LB_TENSOR_ACTIVATIONS]),
                 lb_train_stream(m->step, i, STREAM_ACT), rows, in / rows, x, l->xsim);
    if (s != LB_OK) {
      return s;
    }
    xs = l->xsim;
  }
  if (l->wsim) {
    s = simulate(m, &d->format[LB_TENSOR_WEIGHTS], pass_rounding(m, &d->format[LB_TENSOR_WEIGHTS]),
                 lb_train_stream(m->step, i, STREAM_WFWD), l->out_c, l->k, l->w, l->wsim);
    if (s != LB_OK) {
      return s;
    }
    ws = l->wsim;
  }
  lb_f32_shape shape = f32_shape(m, l);
  lb_f32_forward(&shape, xs, ws, l->b, l->out, l->cols, m->f32_work);
  return LB_OK;
}

static void forward_softmax(lb_train_model *m, size_t i, float *loss, size_t *correct) {
  layer *l = &m->layers[i];
  const float *x = layer_input(m, i);
  size_t c = l->out_c, hits = 0;
  double total = 0;
  for (size_t b = 0; b < m->desc.batch; b++) {
    const float *xb = x + b * c;
    float *p = l->out + b * c;
    size_t best = 0;
    for (size_t j = 1; j < c; j++) {
      if (xb[j] > xb[best]) {
        best = j;
      }
    }
    double sum = 0;
    for (size_t j = 0; j < c; j++) {
      double e = lb_train_exp((double)xb[j] - xb[best]);
      p[j] = (float)e;
      sum += e;
    }
    for (size_t j = 0; j < c; j++) {
      p[j] = (float)(p[j] / sum);
    }
    hits += best == m->labels[b];
    total -= (double)xb[m->labels[b]] - xb[best] - lb_train_log(sum);
  }
  if (loss) {
    *loss = (float)(total / (double)m->desc.batch);
  }
  if (correct) {
    *correct = hits;
  }
}

static lb_train_pool_shape pool_shape(const lb_train_model *m, const layer *l) {
  lb_train_pool_shape s = {m->desc.batch, l->in_h, l->in_w, l->in_c, l->out_h, l->out_w};
  return s;
}

static lb_status forward(lb_train_model *m, float *loss, size_t *correct) {
  size_t batch = m->desc.batch;
  for (size_t i = 0; i < m->count; i++) {
    layer *l = &m->layers[i];
    const float *x = layer_input(m, i);
    size_t n = batch * l->out_count;
    switch (l->d->kind) {
    case LB_LAYER_CONV2D:
    case LB_LAYER_DENSE: {
      lb_status s = forward_param(m, i);
      if (s != LB_OK) {
        return s;
      }
      break;
    }
    case LB_LAYER_RELU: lb_train_relu_forward(x, l->out, n, m->desc.threads); break;
    case LB_LAYER_MAXPOOL: {
      lb_train_pool_shape ps = pool_shape(m, l);
      lb_train_maxpool_forward(&ps, x, l->out, l->argmax, m->desc.threads);
      break;
    }
    case LB_LAYER_FLATTEN: memcpy(l->out, x, n * sizeof(float)); break;
    case LB_LAYER_SOFTMAX_XENT: forward_softmax(m, i, loss, correct); break;
    }
  }
  return LB_OK;
}

/* ---- backward ---- */

/* With loss scaling: whether x, about to be rounded to f, overflows it. A minifloat quantizer
 * saturates finite values past the largest one (IEEE-style FP8 would give infinities), so those
 * count, and a NaN anywhere; the other formats' overflows reach the optimizer's check as
 * infinities or not at all (fixed point saturates, BFP has the block's exponent). */
static void note_overflow(lb_train_model *m, const lb_number_format *f, size_t n, const float *x) {
  if (!m->scaled || m->overflow) {
    return;
  }
  float largest = 3.402823466e38f;
  if (f->kind == LB_NUMBER_MINIFLOAT) {
    unsigned e = f->minifloat.exponent_bits, mb = f->minifloat.mantissa_bits;
    int emax = (1 << (e - 1)) - 1;
    largest = (float)((2.0 - lb_train_pow2(-(int)mb)) * lb_train_pow2(emax));
  }
  for (size_t j = 0; j < n; j++) {
    float a = x[j] < 0 ? -x[j] : x[j];
    if (!(a <= largest)) {
      m->overflow = 1;
      return;
    }
  }
}

/* gb[oc] = the sum over the rows of dy[row][oc], each in row order in double. */
static void bias_gradient_f32(layer *l, size_t rows, const float *dy) {
  size_t n = l->out_c;
  for (size_t o0 = 0; o0 < n; o0 += BIAS_BLOCK) {
    size_t width = n - o0 < BIAS_BLOCK ? n - o0 : BIAS_BLOCK;
    double sum[BIAS_BLOCK] = {0};
    for (size_t r = 0; r < rows; r++) {
      const float *g = dy + r * n + o0;
      for (size_t o = 0; o < width; o++) {
        sum[o] += g[o];
      }
    }
    for (size_t o = 0; o < width; o++) {
      l->gb[o0 + o] = (float)sum[o];
    }
  }
}

/* gb[oc] = (the exact sum of the error codes of channel oc) * estep. */
static void bias_gradient_codes(layer *l, size_t rows, const void *eq, double estep) {
  size_t n = l->out_c;
  for (size_t o0 = 0; o0 < n; o0 += BIAS_BLOCK) {
    size_t width = n - o0 < BIAS_BLOCK ? n - o0 : BIAS_BLOCK;
    int64_t sum[BIAS_BLOCK] = {0};
    for (size_t r = 0; r < rows; r++) {
      size_t at = r * n + o0;
      if (l->ebytes == 1) {
        const int8_t *g = (const int8_t *)eq + at;
        for (size_t o = 0; o < width; o++) {
          sum[o] += g[o];
        }
      } else {
        const int16_t *g = (const int16_t *)eq + at;
        for (size_t o = 0; o < width; o++) {
          sum[o] += g[o];
        }
      }
    }
    for (size_t o = 0; o < width; o++) {
      l->gb[o0 + o] = (float)((double)sum[o] * estep);
    }
  }
}

static lb_status backward_param(lb_train_model *m, size_t i, float *dx) {
  layer *l = &m->layers[i];
  const lb_train_layer_desc *d = l->d;
  size_t batch = m->desc.batch, out = batch * l->out_count;
  lb_status s;
  if (l->integer) {
    const lb_number_format *ef = &d->format[LB_TENSOR_ERRORS];
    void *eq = m->scratch2;
    s = lb_quantize_fixed_f32(&ef->fixed, ef->rounding, m->desc.seed,
                              lb_train_stream(m->step, i, STREAM_ERR), 0, out, l->err, eq,
                              m->desc.threads);
    if (s != LB_OK) {
      return s;
    }
    bias_gradient_codes(l, out / l->out_c, eq, lb_train_pow2(-ef->fixed.fl));
    s = l->convb ? lb_conv2d_backward_weights(l->convb, eq, l->xq, l->gw_sums)
                 : lb_dense_backward_weights(l->denseb, eq, l->xq, l->gw_sums);
    if (s != LB_OK) {
      return s;
    }
    int fl = ef->fixed.fl + l->afl;
    const lb_number_format *gf = &d->format[LB_TENSOR_GRADIENTS];
    l->gw_source = l->dw_type == LB_OUT_INT32 ? LB_FIXED_SOURCE_I32 : LB_FIXED_SOURCE_I64;
    l->gw_fl = fl;
    if (gf->kind == LB_NUMBER_FIXED) {
      /* the sums rounded to <wl_g, fl_g>, widened in place to int32 for the update */
      if (fl < gf->fixed.fl || fl - gf->fixed.fl > 62) {
        return LB_INVALID_ARGUMENT;
      }
      unsigned shift = (unsigned)(fl - gf->fixed.fl);
      uint64_t stream = lb_train_stream(m->step, i, STREAM_GRAD);
      void *codes = m->scratch;
      s = l->dw_type == LB_OUT_INT32
              ? lb_quantize_fixed_i32(gf->fixed.wl, shift, gf->rounding, m->desc.seed, stream, 0,
                                      l->wcount, l->gw_sums, codes, m->desc.threads)
              : lb_quantize_fixed_i64(gf->fixed.wl, shift, gf->rounding, m->desc.seed, stream, 0,
                                      l->wcount, l->gw_sums, codes, m->desc.threads);
      if (s != LB_OK) {
        return s;
      }
      int32_t *wide = l->gw_sums;
      for (size_t j = 0; j < l->wcount; j++) {
        wide[j] = code_at(codes, code_bytes(gf->fixed.wl), j);
      }
      l->gw_source = LB_FIXED_SOURCE_I32;
      l->gw_fl = gf->fixed.fl;
    }
    if (dx) {
      s = l->convb ? lb_conv2d_backward_data(l->convb, eq, m->scratch)
                   : lb_dense_backward_data(l->denseb, eq, m->scratch);
      if (s != LB_OK) {
        return s;
      }
      lb_train_sums_to_float(m->scratch, l->dx_type, batch * l->in_count,
                             lb_train_pow2(-(ef->fixed.fl + l->wfwd_fl)), dx, m->desc.threads);
    }
    return LB_OK;
  }
  const float *dy = l->err;
  note_overflow(m, &d->format[LB_TENSOR_ERRORS], out, l->err);
  if (d->format[LB_TENSOR_ERRORS].kind != LB_NUMBER_FLOAT) {
    size_t rows = d->kind == LB_LAYER_DENSE ? batch : batch * l->out_h * l->out_w;
    s = simulate(m, &d->format[LB_TENSOR_ERRORS], d->format[LB_TENSOR_ERRORS].rounding,
                 lb_train_stream(m->step, i, STREAM_ERR), rows, out / rows, l->err, m->scratch);
    if (s != LB_OK) {
      return s;
    }
    dy = m->scratch;
  }
  bias_gradient_f32(l, out / l->out_c, dy);
  /* the product's input as the forward pass left it: conv2d's columns, dense's (rounded) input */
  const float *a = l->cols ? l->cols : l->xsim ? l->xsim : layer_input(m, i);
  const float *w = l->wsim ? l->wsim : l->w;
  lb_f32_shape shape = f32_shape(m, l);
  lb_f32_backward(&shape, a, w, dy, dx, l->gw, m->f32_work);
  const lb_number_format *gf = &d->format[LB_TENSOR_GRADIENTS];
  note_overflow(m, gf, l->wcount, l->gw);
  if (gf->kind != LB_NUMBER_FLOAT) {
    s = simulate(m, gf, gf->rounding, lb_train_stream(m->step, i, STREAM_GRAD), l->out_c, l->k,
                 l->gw, l->gw);
  }
  return s;
}

lb_status lb_train_layer_backward(lb_train_model *model, size_t i, int input_error) {
  if (!model || i >= model->count) {
    return LB_INVALID_ARGUMENT;
  }
  layer *l = &model->layers[i];
  float *dx = input_error && i > 0 ? model->layers[i - 1].err : NULL;
  size_t n = model->desc.batch * l->out_count;
  switch (l->d->kind) {
  case LB_LAYER_CONV2D:
  case LB_LAYER_DENSE: return backward_param(model, i, dx);
  case LB_LAYER_RELU:
    if (dx) {
      lb_train_relu_backward(layer_input(model, i), l->err, dx, n, model->desc.threads);
    }
    return LB_OK;
  case LB_LAYER_MAXPOOL:
    if (dx) {
      lb_train_pool_shape ps = pool_shape(model, l);
      lb_train_maxpool_backward(&ps, l->err, l->argmax, dx, model->desc.threads);
    }
    return LB_OK;
  case LB_LAYER_FLATTEN:
    if (dx) {
      memcpy(dx, l->err, n * sizeof(float));
    }
    return LB_OK;
  case LB_LAYER_SOFTMAX_XENT:
    /* the error of the mean loss: (p - onehot) / batch */
    if (dx) {
      double inv = 1.0 / (double)model->desc.batch;
      double scale = lb_train_pow2(model->grad_log2); /* exact: the loss scale */
      for (size_t j = 0; j < n; j++) {
        size_t b = j / l->out_c;
        double t = (double)l->out[j] - (j % l->out_c == model->labels[b] ? 1.0 : 0.0);
        dx[j] = (float)(t * inv * scale);
      }
    }
    return LB_OK;
  }
  return LB_INVALID_ARGUMENT;
}

static lb_status backprop_run(lb_train_model *model, const void *config) {
  (void)config;
  for (size_t i = model->count; i-- > 0;) {
    lb_status s = lb_train_layer_backward(model, i, i > 0);
    if (s != LB_OK) {
      return s;
    }
  }
  return LB_OK;
}

lb_train_backward_path lb_train_backprop(void) {
  lb_train_backward_path path = {"backprop", backprop_run, NULL};
  return path;
}

/* ---- model ---- */

static void init_weights(lb_train_model *m, size_t i, float *values) {
  layer *l = &m->layers[i];
  double limit = lb_train_sqrt(6.0 / (double)l->k);
  uint64_t state = m->desc.seed ^ (0x9e3779b97f4a7c15ull * (i + 1));
  for (size_t j = 0; j < l->wcount; j++) {
    uint64_t r = lb_train_splitmix(&state) >> 11;
    double u = (double)r * lb_train_pow2(-53); /* [0, 1) */
    values[j] = (float)((2.0 * u - 1.0) * limit);
  }
  for (size_t j = 0; j < l->bcount; j++) {
    values[l->wcount + j] = 0.0f;
  }
}

lb_status lb_train_model_create(const lb_train_model_desc *desc, lb_train_model **model) {
  if (!desc || !model || !desc->layers || desc->layer_count == 0 || desc->batch == 0 ||
      desc->in_h == 0 || desc->in_w == 0 || desc->in_c == 0 || desc->layer_count >= (1u << 19)) {
    return LB_INVALID_ARGUMENT;
  }
  const lb_precision_schedule *ps = &desc->schedule;
  if (ps->kind == LB_SCHEDULE_CYCLIC && lb_schedule_fw_bits(ps, 0) == 0) {
    return LB_INVALID_ARGUMENT;
  }
  if (ps->kind != LB_SCHEDULE_FIXED && ps->kind != LB_SCHEDULE_CYCLIC) {
    return LB_INVALID_ARGUMENT;
  }
  lb_train_model *m = calloc(1, sizeof *m);
  if (!m) {
    return LB_OUT_OF_MEMORY;
  }
  m->desc = *desc;
  m->desc.loss_scale = NULL; /* copied into m->scale below */
  m->count = desc->layer_count;
  m->default_sgd.learning_rate = 0.01f;
  m->optimizer = desc->optimizer ? *desc->optimizer : lb_train_sgd(&m->default_sgd);
  m->path = desc->backward_path ? *desc->backward_path : lb_train_backprop();
  m->layers = calloc(m->count, sizeof *m->layers);
  lb_status s = m->layers ? LB_OK : LB_OUT_OF_MEMORY;
  for (size_t i = 0; s == LB_OK && i < m->count; i++) {
    m->layers[i].d = &desc->layers[i];
  }
  if (s == LB_OK && (!m->optimizer.state_bytes || !m->optimizer.step || !m->path.run)) {
    s = LB_INVALID_ARGUMENT;
  }
  if (s == LB_OK && desc->loss_scale) {
    m->scaled = 1;
    s = lb_loss_scale_init(&m->scale, desc->loss_scale);
    m->grad_log2 = m->scale.log2_scale;
  }
  if (s == LB_OK) {
    s = plan_shapes(m);
  }
  if (s == LB_OK) {
    carver sizing = {NULL, 0};
    layout(m, &sizing);
    m->arena_bytes = sizing.offset;
    m->arena = aligned_alloc(ALIGN, (m->arena_bytes + ALIGN - 1) / ALIGN * ALIGN);
    s = m->arena ? LB_OK : LB_OUT_OF_MEMORY;
  }
  if (s == LB_OK) {
    memset(m->arena, 0, m->arena_bytes);
    carver real = {m->arena, 0};
    layout(m, &real);
  }
  for (size_t i = 0; s == LB_OK && i < m->count; i++) {
    layer *l = &m->layers[i];
    if (!is_param_layer(l)) {
      continue;
    }
    float *values = malloc((l->wcount + l->bcount) * sizeof(float));
    if (!values) {
      s = LB_OUT_OF_MEMORY;
      break;
    }
    init_weights(m, i, values);
    s = lb_train_layer_set_params(m, i, values);
    free(values);
    if (s == LB_OK && l->integer) {
      s = create_operators(m, l);
    }
  }
  if (s != LB_OK) {
    lb_train_model_destroy(m);
    return s;
  }
  *model = m;
  return LB_OK;
}

void lb_train_model_destroy(lb_train_model *model) {
  if (!model) {
    return;
  }
  for (size_t i = 0; model->layers && i < model->count; i++) {
    layer *l = &model->layers[i];
    lb_conv2d_destroy(l->conv);
    lb_dense_destroy(l->dense);
    lb_conv2d_backward_destroy(l->convb);
    lb_dense_backward_destroy(l->denseb);
  }
  free(model->arena);
  free(model->layers);
  free(model);
}

size_t lb_train_model_memory(const lb_train_model *model) { return model ? model->arena_bytes : 0; }

static lb_status check_batch(const lb_train_model *m, const float *input, const uint8_t *labels) {
  if (!m || !input || !labels) {
    return LB_INVALID_ARGUMENT;
  }
  for (size_t b = 0; b < m->desc.batch; b++) {
    if (labels[b] >= m->desc.classes) {
      return LB_INVALID_ARGUMENT;
    }
  }
  return LB_OK;
}

static void count_bitops(lb_train_model *m) {
  for (size_t i = 0; i < m->count; i++) {
    layer *l = &m->layers[i];
    if (!is_param_layer(l)) {
      continue;
    }
    const lb_number_format *f = l->d->format;
    unsigned fw = lb_number_format_bits(&f[LB_TENSOR_WEIGHTS]);
    unsigned fa = lb_number_format_bits(&f[LB_TENSOR_ACTIVATIONS]);
    if (fa > fw) {
      fw = fa;
    }
    if (l->integer) {
      fw = forward_bits(m, l);
    }
    double macs = (double)m->desc.batch * (double)(l->out_h * l->out_w * l->out_c) * (double)l->k;
    lb_bitops_add(&m->bitops, macs, fw, lb_number_format_bits(&f[LB_TENSOR_ERRORS]));
  }
}

/* Loss scaling's step after the backward pass: every parameter checked, then all updated or
 * none (design.md section 28). */
static lb_status scaled_update(lb_train_model *m) {
  int clean = !m->overflow;
  for (size_t i = 0; clean && i < m->count; i++) {
    for (unsigned index = 0; clean && index < 2 && is_param_layer(&m->layers[i]); index++) {
      lb_train_param p = param_of(m, i, index);
      size_t refused = 0;
      if (m->optimizer.check) {
        lb_status s = m->optimizer.check(m->optimizer.config, &p, &refused);
        if (s != LB_OK) {
          return s;
        }
      } else if (p.gradient_source == LB_FIXED_SOURCE_F32) {
        const float *g = p.gradient;
        for (size_t j = 0; j < p.count; j++) {
          refused += !(g[j] - g[j] == 0.0f);
        }
      }
      clean = refused == 0;
    }
  }
  int apply = 0;
  lb_status s = lb_loss_scale_update(&m->scale, clean, &apply);
  for (size_t i = 0; s == LB_OK && apply && i < m->count; i++) {
    layer *l = &m->layers[i];
    if (!is_param_layer(l)) {
      continue;
    }
    for (unsigned index = 0; index < 2 && s == LB_OK; index++) {
      lb_train_param p = param_of(m, i, index);
      uint64_t base = lb_train_stream(m->step, i, index == 0 ? STREAM_OPT_W : STREAM_OPT_B);
      s = m->optimizer.step(m->optimizer.config, &p, m->step, m->desc.seed, base);
    }
    l->weights_dirty = 1;
  }
  return s == LB_OK && !apply ? LB_BAD_GRADIENT : s;
}

lb_status lb_train_step(lb_train_model *model, const float *input, const uint8_t *labels,
                        float *loss, size_t *correct) {
  lb_status s = check_batch(model, input, labels);
  if (s != LB_OK) {
    return s;
  }
  lb_train_model *m = model;
  m->input = input, m->labels = labels, m->training = 1;
  m->fw_bits = m->fw_forced ? m->fw_forced : lb_schedule_fw_bits(&m->desc.schedule, m->step);
  m->grad_log2 = m->scaled ? m->scale.log2_scale : 0;
  m->overflow = 0;
  s = forward(m, loss, correct);
  if (s == LB_OK) {
    s = m->path.run(m, m->path.config);
  }
  lb_status bad = LB_OK;
  if (s == LB_OK && m->scaled) {
    s = scaled_update(m);
    if (s == LB_BAD_GRADIENT) {
      bad = s, s = LB_OK;
    }
  }
  for (size_t i = 0; s == LB_OK && !m->scaled && i < m->count; i++) {
    layer *l = &m->layers[i];
    if (!is_param_layer(l)) {
      continue;
    }
    for (unsigned index = 0; index < 2 && s == LB_OK; index++) {
      lb_train_param p = param_of(m, i, index);
      uint64_t base = lb_train_stream(m->step, i, index == 0 ? STREAM_OPT_W : STREAM_OPT_B);
      lb_status r = m->optimizer.step(m->optimizer.config, &p, m->step, m->desc.seed, base);
      if (r == LB_BAD_GRADIENT) {
        bad = r;
      } else {
        s = r;
      }
    }
    l->weights_dirty = 1;
  }
  if (s == LB_OK) {
    count_bitops(m);
    m->step++;
  }
  m->input = NULL, m->labels = NULL;
  return s != LB_OK ? s : bad;
}

lb_status lb_train_evaluate(lb_train_model *model, const float *input, const uint8_t *labels,
                            float *loss, size_t *correct) {
  lb_status s = check_batch(model, input, labels);
  if (s != LB_OK) {
    return s;
  }
  model->input = input, model->labels = labels, model->training = 0, model->fw_bits = 0;
  s = forward(model, loss, correct);
  model->input = NULL, model->labels = NULL;
  return s;
}

size_t lb_train_layer_count(const lb_train_model *model) { return model ? model->count : 0; }

float *lb_train_layer_error(lb_train_model *model, size_t i, size_t *count) {
  if (!model || i >= model->count) {
    return NULL;
  }
  if (count) {
    *count = model->desc.batch * model->layers[i].out_count;
  }
  return model->layers[i].err;
}

const float *lb_train_layer_output(const lb_train_model *model, size_t i, size_t *count) {
  if (!model || i >= model->count) {
    return NULL;
  }
  if (count) {
    *count = model->desc.batch * model->layers[i].out_count;
  }
  return model->layers[i].out;
}

lb_status lb_train_layer_params(const lb_train_model *model, size_t i, float *values,
                                size_t *count) {
  if (!model || i >= model->count || !count) {
    return LB_INVALID_ARGUMENT;
  }
  const layer *l = &model->layers[i];
  *count = l->wcount + l->bcount;
  if (!values || *count == 0) {
    return LB_OK;
  }
  if (l->integer) {
    double step = lb_train_pow2(-l->d->format[LB_TENSOR_WEIGHTS].fixed.fl);
    for (size_t j = 0; j < l->wcount; j++) {
      values[j] = (float)(code_at(l->wq, l->wbytes, j) * step);
    }
    for (size_t j = 0; j < l->bcount; j++) {
      values[l->wcount + j] = (float)(code_at(l->bq, l->wbytes, j) * step);
    }
  } else {
    memcpy(values, l->w, l->wcount * sizeof(float));
    memcpy(values + l->wcount, l->b, l->bcount * sizeof(float));
  }
  return LB_OK;
}

lb_status lb_train_layer_set_params(lb_train_model *model, size_t i, const float *values) {
  if (!model || i >= model->count || !values || !is_param_layer(&model->layers[i])) {
    return LB_INVALID_ARGUMENT;
  }
  layer *l = &model->layers[i];
  lb_status s = LB_OK;
  if (l->integer) {
    const lb_fixed_format *wf = &l->d->format[LB_TENSOR_WEIGHTS].fixed;
    s = lb_quantize_fixed_f32(wf, LB_ROUND_NEAREST, 0, 0, 0, l->wcount, values, l->wq, 1);
    if (s == LB_OK) {
      s = lb_quantize_fixed_f32(wf, LB_ROUND_NEAREST, 0, 0, 0, l->bcount, values + l->wcount, l->bq,
                                1);
    }
    l->weights_dirty = 1;
  } else {
    memcpy(l->w, values, l->wcount * sizeof(float));
    memcpy(l->b, values + l->wcount, l->bcount * sizeof(float));
  }
  for (unsigned index = 0; s == LB_OK && index < 2; index++) {
    lb_train_param p = param_of(model, i, index);
    if (p.state) {
      memset(p.state, 0, model->optimizer.state_bytes(model->optimizer.config, &p));
    }
    if (model->optimizer.init) {
      s = model->optimizer.init(model->optimizer.config, &p);
    }
  }
  return s;
}

const lb_bitops_counter *lb_train_model_bitops(const lb_train_model *model) {
  return model ? &model->bitops : NULL;
}

uint64_t lb_train_model_step(const lb_train_model *model) { return model ? model->step : 0; }

unsigned lb_train_model_fw_bits(const lb_train_model *model) {
  if (model && model->fw_forced) {
    return model->fw_forced;
  }
  return model ? lb_schedule_fw_bits(&model->desc.schedule, model->step) : 0;
}

lb_status lb_train_model_set_fw_bits(lb_train_model *model, unsigned bits) {
  if (!model || bits == 1) {
    return LB_INVALID_ARGUMENT;
  }
  for (size_t i = 0; bits && i < model->count; i++) {
    const layer *l = &model->layers[i];
    if (!l->integer) {
      continue;
    }
    /* the operators were made for wl-bit codes: narrower codes of the same bytes fit them */
    unsigned wl[2] = {l->d->format[LB_TENSOR_WEIGHTS].fixed.wl,
                      l->d->format[LB_TENSOR_ACTIVATIONS].fixed.wl};
    for (unsigned t = 0; t < 2; t++) {
      if (bits > wl[t] || code_bytes(bits) != code_bytes(wl[t])) {
        return LB_INVALID_ARGUMENT;
      }
    }
    /* as plan_shapes: a fixed gradient format may only drop fraction bits from the sums */
    const lb_number_format *gf = &l->d->format[LB_TENSOR_GRADIENTS];
    int sum_fl = l->d->format[LB_TENSOR_ERRORS].fixed.fl +
                 l->d->format[LB_TENSOR_ACTIVATIONS].fixed.fl - (int)(wl[1] - bits);
    if (gf->kind == LB_NUMBER_FIXED && (sum_fl < gf->fixed.fl || sum_fl - gf->fixed.fl > 62)) {
      return LB_INVALID_ARGUMENT;
    }
  }
  model->fw_forced = bits;
  return LB_OK;
}

const lb_loss_scale *lb_train_model_loss_scale(const lb_train_model *model) {
  return model && model->scaled ? &model->scale : NULL;
}

/* ---- state for checkpoints ---- */

/* One piece of the state at *at: copied out when out is set, in when in is set, else counted. */
static void state_piece(unsigned char *out, const unsigned char *in, size_t *at, void *ptr,
                        size_t n) {
  if (n && out) {
    memcpy(out + *at, ptr, n);
  } else if (n && in) {
    memcpy(ptr, in + *at, n);
  }
  *at += n;
}

/* Visits the state's pieces in their order (lb_train_model_state_bytes). */
static size_t state_walk(lb_train_model *m, unsigned char *out, const unsigned char *in) {
  size_t at = 0;
  state_piece(out, in, &at, &m->step, sizeof m->step);
  state_piece(out, in, &at, &m->bitops.macs, sizeof m->bitops.macs);
  state_piece(out, in, &at, &m->bitops.bitops, sizeof m->bitops.bitops);
  if (m->scaled) {
    lb_loss_scale *ls = &m->scale;
    state_piece(out, in, &at, &ls->log2_scale, sizeof ls->log2_scale);
    state_piece(out, in, &at, &ls->min_log2, sizeof ls->min_log2);
    state_piece(out, in, &at, &ls->clean_steps, sizeof ls->clean_steps);
    state_piece(out, in, &at, &ls->step, sizeof ls->step);
    state_piece(out, in, &at, &ls->skipped, sizeof ls->skipped);
  }
  for (size_t i = 0; i < m->count; i++) {
    layer *l = &m->layers[i];
    if (!is_param_layer(l)) {
      continue;
    }
    if (l->integer) {
      state_piece(out, in, &at, l->wq, l->wcount * l->wbytes);
      state_piece(out, in, &at, l->bq, l->bcount * l->wbytes);
      if (in) {
        l->weights_dirty = 1; /* the forward codes and packed operators follow the new codes */
      }
    } else {
      state_piece(out, in, &at, l->w, l->wcount * sizeof(float));
      state_piece(out, in, &at, l->b, l->bcount * sizeof(float));
    }
    for (unsigned index = 0; index < 2; index++) {
      lb_train_param p = param_of(m, i, index);
      state_piece(out, in, &at, p.state, m->optimizer.state_bytes(m->optimizer.config, &p));
    }
  }
  return at;
}

size_t lb_train_model_state_bytes(const lb_train_model *model) {
  /* counting writes nothing: the cast only lets the walk be shared with loading */
  return model ? state_walk((lb_train_model *)(uintptr_t)model, NULL, NULL) : 0;
}

lb_status lb_train_model_save_state(const lb_train_model *model, void *out, size_t bytes) {
  if (!model || !out || bytes != lb_train_model_state_bytes(model)) {
    return LB_INVALID_ARGUMENT;
  }
  state_walk((lb_train_model *)(uintptr_t)model, out, NULL); /* reads the model only */
  return LB_OK;
}

lb_status lb_train_model_load_state(lb_train_model *model, const void *in, size_t bytes) {
  if (!model || !in || bytes != lb_train_model_state_bytes(model)) {
    return LB_INVALID_ARGUMENT;
  }
  state_walk(model, NULL, in);
  return LB_OK;
}
