/* IDX datasets through zlib (lowbit/train_io.h, docs/design.md section 21). */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "lowbit/train_io.h"

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u
/* The unit of reading and of the buffers' growth: large enough that zlib's call overhead vanishes,
 * small enough that a header promising gigabytes costs nothing until they are really there. */
#define IDX_CHUNK ((size_t)1 << 20)

typedef struct idx_file {
  gzFile gz;
  const char *path;
  char *err;
  size_t err_len;
} idx_file;

__attribute__((format(printf, 3, 4))) static lb_io_status
fail(const idx_file *f, lb_io_status status, const char *format, ...) {
  if (f->err != NULL && f->err_len > 0) {
    int used = snprintf(f->err, f->err_len, "%s: ", f->path);
    if (used >= 0 && (size_t)used < f->err_len) {
      va_list args;
      va_start(args, format);
      vsnprintf(f->err + used, f->err_len - (size_t)used, format, args);
      va_end(args);
    }
  }
  return status;
}

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static lb_io_status open_idx(idx_file *f) {
  errno = 0;
  f->gz = gzopen(f->path, "rb");
  if (f->gz == NULL) {
    return errno != 0 ? fail(f, LB_IO_SYSTEM_ERROR, "cannot open: %s", strerror(errno))
                      : fail(f, LB_IO_OUT_OF_MEMORY, "cannot open: out of memory");
  }
  /* gzread passes a file without the gzip header through unchanged; a dataset that is not
   * compressed is a wrong file here, not a convenience. */
  if (gzdirect(f->gz)) {
    gzclose(f->gz);
    f->gz = NULL;
    return fail(f, LB_IO_BAD_FILE, "not a gzip file");
  }
  return LB_IO_OK;
}

/* Reads up to bytes bytes; *got says how many came before the end of the data. A damaged gzip
 * stream (bad CRC, cut short inside the compressed data) is an error, not an end. */
static lb_io_status read_some(idx_file *f, uint8_t *buffer, size_t bytes, size_t *got) {
  *got = 0;
  while (*got < bytes) {
    size_t want = bytes - *got < IDX_CHUNK ? bytes - *got : IDX_CHUNK;
    int n = gzread(f->gz, buffer + *got, (unsigned)want);
    if (n < 0) {
      int code = Z_OK;
      const char *message = gzerror(f->gz, &code);
      if (code == Z_ERRNO) {
        return fail(f, LB_IO_SYSTEM_ERROR, "read error: %s", strerror(errno));
      }
      return fail(f, LB_IO_BAD_FILE, "corrupt gzip data: %s", message);
    }
    if (n == 0) {
      /* A stream cut short ends the data without failing gzread: zlib only records it. */
      int code = Z_OK;
      const char *message = gzerror(f->gz, &code);
      if (code != Z_OK) {
        return fail(f, LB_IO_BAD_FILE, "corrupt gzip data: %s", message);
      }
      break;
    }
    *got += (size_t)n;
  }
  return LB_IO_OK;
}

/* Reads exactly bytes bytes into a buffer that grows with what really arrives. */
static lb_io_status read_grown(idx_file *f, uint64_t bytes, uint8_t **out, uint64_t *got) {
  *out = NULL;
  *got = 0;
  /* A header may promise more than a 32-bit machine addresses; the data seldom holds it. */
  const size_t limit = bytes > SIZE_MAX ? SIZE_MAX : (size_t)bytes;
  uint8_t *buffer = NULL;
  size_t capacity = 0, filled = 0;
  while (filled < limit) {
    if (filled == capacity) {
      size_t grown = capacity == 0 ? IDX_CHUNK : capacity * 2;
      if (grown > limit || grown < capacity) {
        grown = limit;
      }
      uint8_t *bigger = realloc(buffer, grown);
      if (bigger == NULL) {
        free(buffer);
        return fail(f, LB_IO_OUT_OF_MEMORY, "out of memory for %zu bytes", grown);
      }
      buffer = bigger;
      capacity = grown;
    }
    size_t want = capacity - filled, n = 0;
    lb_io_status status = read_some(f, buffer + filled, want, &n);
    if (status != LB_IO_OK) {
      free(buffer);
      return status;
    }
    filled += n;
    if (n < want) {
      break;
    }
  }
  *out = buffer;
  *got = filled;
  return LB_IO_OK;
}

/* Reads and drops bytes bytes (examples beyond max_count), counting how many there were. */
static lb_io_status skip(idx_file *f, uint64_t bytes, uint64_t *got) {
  uint8_t scratch[1 << 14];
  *got = 0;
  while (*got < bytes) {
    size_t want = bytes - *got < sizeof scratch ? (size_t)(bytes - *got) : sizeof scratch;
    size_t n = 0;
    lb_io_status status = read_some(f, scratch, want, &n);
    if (status != LB_IO_OK) {
      return status;
    }
    *got += n;
    if (n < want) {
      break;
    }
  }
  return LB_IO_OK;
}

/* Refuses a file whose data goes on after what its header describes. */
static lb_io_status expect_end(idx_file *f, const char *described) {
  uint8_t extra;
  size_t n = 0;
  lb_io_status status = read_some(f, &extra, 1, &n);
  if (status != LB_IO_OK) {
    return status;
  }
  if (n != 0) {
    return fail(f, LB_IO_BAD_FILE, "bytes after the end of the data (the header says %s)",
                described);
  }
  return LB_IO_OK;
}

static lb_io_status read_header(idx_file *f, uint8_t *header, size_t bytes, uint32_t magic,
                                const char *kind) {
  size_t n = 0;
  lb_io_status status = read_some(f, header, bytes, &n);
  if (status != LB_IO_OK) {
    return status;
  }
  if (n < bytes) {
    return fail(f, LB_IO_BAD_FILE, "ends after %zu of the %zu header bytes", n, bytes);
  }
  uint32_t found = be32(header);
  if (found != magic) {
    const char *hint = found == IDX_IMAGES_MAGIC   ? " (an images file)"
                       : found == IDX_LABELS_MAGIC ? " (a labels file)"
                                                   : "";
    return fail(f, LB_IO_BAD_FILE, "bad magic 0x%08" PRIx32 "%s, expected 0x%08" PRIx32 " (%s)",
                found, hint, magic, kind);
  }
  if (be32(header + 4) == 0) {
    return fail(f, LB_IO_BAD_FILE, "holds no examples");
  }
  return LB_IO_OK;
}

static lb_io_status load_images(idx_file *f, const lb_idx_spec *spec, lb_idx_dataset *d,
                                uint32_t *count) {
  uint8_t header[16];
  lb_io_status status = read_header(f, header, sizeof header, IDX_IMAGES_MAGIC,
                                    "IDX images: unsigned bytes, 3 dimensions");
  if (status != LB_IO_OK) {
    return status;
  }
  uint32_t n = be32(header + 4), rows = be32(header + 8), cols = be32(header + 12);
  if (rows == 0 || cols == 0 || rows > LB_IDX_MAX_SIDE || cols > LB_IDX_MAX_SIDE) {
    return fail(f, LB_IO_BAD_FILE,
                "images of %" PRIu32 "x%" PRIu32 " (rows and columns must be 1 to %d)", rows, cols,
                LB_IDX_MAX_SIDE);
  }
  if (spec->rows != 0 && (rows != spec->rows || cols != spec->cols)) {
    return fail(f, LB_IO_BAD_FILE,
                "images of %" PRIu32 "x%" PRIu32 ", expected %" PRIu32 "x%" PRIu32, rows, cols,
                spec->rows, spec->cols);
  }
  uint64_t image_bytes = (uint64_t)rows * cols;
  uint64_t keep = spec->max_count != 0 && spec->max_count < n ? spec->max_count : n;
  uint64_t kept_bytes = 0, skipped_bytes = 0;
  status = read_grown(f, keep * image_bytes, &d->images, &kept_bytes);
  if (status == LB_IO_OK && kept_bytes == keep * image_bytes) {
    status = skip(f, (n - keep) * image_bytes, &skipped_bytes);
  }
  if (status != LB_IO_OK) {
    return status;
  }
  char described[96];
  snprintf(described, sizeof described, "%" PRIu32 " images of %" PRIu32 "x%" PRIu32, n, rows,
           cols);
  uint64_t got = kept_bytes + skipped_bytes;
  if (got < (uint64_t)n * image_bytes) {
    return fail(f, LB_IO_BAD_FILE,
                "truncated: the data ends after %" PRIu64 " of %" PRIu64 " bytes (%s)", got,
                (uint64_t)n * image_bytes, described);
  }
  status = expect_end(f, described);
  if (status != LB_IO_OK) {
    return status;
  }
  d->count = (size_t)keep;
  d->rows = rows;
  d->cols = cols;
  *count = n;
  return LB_IO_OK;
}

static lb_io_status load_labels(idx_file *f, const lb_idx_spec *spec, lb_idx_dataset *d,
                                uint32_t *count) {
  uint8_t header[8];
  lb_io_status status = read_header(f, header, sizeof header, IDX_LABELS_MAGIC,
                                    "IDX labels: unsigned bytes, 1 dimension");
  if (status != LB_IO_OK) {
    return status;
  }
  uint32_t n = be32(header + 4);
  uint64_t got = 0;
  status = read_grown(f, n, &d->labels, &got);
  if (status != LB_IO_OK) {
    return status;
  }
  char described[64];
  snprintf(described, sizeof described, "%" PRIu32 " labels", n);
  if (got < n) {
    return fail(f, LB_IO_BAD_FILE, "truncated: the data ends after %" PRIu64 " of %s", got,
                described);
  }
  status = expect_end(f, described);
  if (status != LB_IO_OK) {
    return status;
  }
  for (uint32_t i = 0; i < n; i++) {
    if (d->labels[i] >= spec->classes) {
      return fail(f, LB_IO_BAD_FILE, "label %u of example %" PRIu32 " is not below %u",
                  d->labels[i], i, spec->classes);
    }
  }
  *count = n;
  return LB_IO_OK;
}

static void close_idx(idx_file *f) {
  if (f->gz != NULL) {
    gzclose(f->gz);
    f->gz = NULL;
  }
}

lb_io_status lb_idx_dataset_load(const char *images_path, const char *labels_path,
                                 const lb_idx_spec *spec, lb_idx_dataset *dataset, char *err,
                                 size_t err_len) {
  if (dataset != NULL) {
    memset(dataset, 0, sizeof *dataset);
  }
  if (images_path == NULL || labels_path == NULL || spec == NULL || dataset == NULL ||
      spec->classes == 0 || spec->classes > 256 || (spec->rows == 0) != (spec->cols == 0) ||
      spec->rows > LB_IDX_MAX_SIDE || spec->cols > LB_IDX_MAX_SIDE) {
    return LB_IO_INVALID_ARGUMENT;
  }
  idx_file images = {NULL, images_path, err, err_len};
  idx_file labels = {NULL, labels_path, err, err_len};
  uint32_t image_count = 0, label_count = 0;
  lb_io_status status = open_idx(&images);
  if (status == LB_IO_OK) {
    status = load_images(&images, spec, dataset, &image_count);
    close_idx(&images);
  }
  if (status == LB_IO_OK) {
    status = open_idx(&labels);
  }
  if (status == LB_IO_OK) {
    status = load_labels(&labels, spec, dataset, &label_count);
    close_idx(&labels);
  }
  if (status == LB_IO_OK && image_count != label_count) {
    status = fail(&labels, LB_IO_BAD_FILE, "%" PRIu32 " labels for the %" PRIu32 " images of %s",
                  label_count, image_count, images_path);
  }
  if (status != LB_IO_OK) {
    lb_idx_dataset_free(dataset);
    return status;
  }
  /* Labels were read whole to check them all; keep as many as there are images kept. */
  if (dataset->count < label_count) {
    uint8_t *fitted = realloc(dataset->labels, dataset->count);
    if (fitted != NULL) {
      dataset->labels = fitted;
    }
  }
  return LB_IO_OK;
}

void lb_idx_dataset_free(lb_idx_dataset *dataset) {
  if (dataset == NULL) {
    return;
  }
  free(dataset->images);
  free(dataset->labels);
  memset(dataset, 0, sizeof *dataset);
}
