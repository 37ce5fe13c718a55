/* The training engine's files (docs/design.md, section 21): IDX datasets read through zlib, and
 * checkpoints, a versioned container of named sections written atomically with a CRC-32.
 *
 * Every function that reads or writes a file takes an error buffer (err, err_len; err may be NULL
 * or err_len 0 to ignore it). On failure it holds one line, without a newline, that names the file
 * and the problem, e.g. "t10k-labels-idx1-ubyte.gz: label 12 of example 7 is not below 10". On
 * success it is left untouched. LB_IO_ERROR_LEN bytes always hold the whole line when the path is
 * shorter than LB_IO_ERROR_LEN / 2; a longer line is cut short (snprintf). */
#ifndef LOWBIT_TRAIN_IO_H
#define LOWBIT_TRAIN_IO_H

#include <stddef.h>
#include <stdint.h>

#include "lowbit/lowbit.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LB_IO_ERROR_LEN 1024

/* The first three values are those of lb_status. */
typedef enum lb_io_status {
  LB_IO_OK = LB_OK,
  LB_IO_INVALID_ARGUMENT = LB_INVALID_ARGUMENT, /* NULL pointers, a bad spec or section name */
  LB_IO_OUT_OF_MEMORY = LB_OUT_OF_MEMORY,
  LB_IO_SYSTEM_ERROR = 16, /* the operating system refused: open, read, write, fsync, rename */
  LB_IO_BAD_FILE = 17      /* the file was read but is not what it must be (the message says how) */
} lb_io_status;

/* ---- IDX datasets (the MNIST format, gzip-compressed) ----
 *
 * An images file is the big-endian uint32 magic 0x00000803 (unsigned bytes, 3 dimensions), the
 * count n, rows and columns (big-endian uint32 each), then n * rows * columns bytes, row-major. A
 * labels file is the magic 0x00000801, n, then n bytes. Both must be gzip files (zlib's gzread;
 * plain files are refused) whose uncompressed length is exactly what the header says: a file that
 * ends early or holds bytes after its last example is refused, as are a count of 0, rows or columns
 * outside 1..LB_IDX_MAX_SIDE, images and labels files with different counts, and a label not below
 * spec.classes. The whole of both files is checked even when only the first max_count examples are
 * kept. Memory follows the bytes actually read, not the header's claim. */
#define LB_IDX_MAX_SIDE 4096

typedef struct lb_idx_spec {
  uint32_t rows, cols; /* the image size required; 0 and 0 accept any */
  unsigned classes;    /* labels must be below this; 1..256 */
  size_t max_count;    /* keep the first max_count examples; 0 keeps all */
} lb_idx_spec;

typedef struct lb_idx_dataset {
  uint8_t *images; /* [count][rows][cols] */
  uint8_t *labels; /* [count] */
  size_t count;
  uint32_t rows, cols;
} lb_idx_dataset;

/* Loads the examples into *dataset (owned by the caller: lb_idx_dataset_free). On failure
 * *dataset is zeroed and nothing is allocated. */
lb_io_status lb_idx_dataset_load(const char *images_path, const char *labels_path,
                                 const lb_idx_spec *spec, lb_idx_dataset *dataset, char *err,
                                 size_t err_len);
/* Frees the arrays and zeroes *dataset; NULL and a zeroed dataset are accepted. */
void lb_idx_dataset_free(lb_idx_dataset *dataset);

/* ---- Checkpoints ----
 *
 * A checkpoint holds named sections of bytes (the engine's tensors, step, seed, random streams and
 * loss-scale state, each as it chooses to lay them out). Names are 1 to LB_CHECKPOINT_NAME_MAX
 * printable ASCII characters (0x21..0x7e), unique in a file. The layout (little-endian):
 *
 *   header   8-byte magic 89 4C 42 43 4B 50 54 0A ("\x89LBCKPT\n"), uint32 version (1),
 *            uint32 section count, uint64 file length in bytes
 *   section  64-byte name padded with zero bytes, uint64 size, size data bytes, zero bytes up to
 *            a multiple of 8 (so that every section's data starts 8-byte aligned)
 *   trailer  uint32 CRC-32 (zlib's crc32) of every byte before it, 4-byte end mark "LBCE"
 *
 * Writing is atomic: the sections stream into <path>.tmp in the same directory, which is flushed,
 * fsync'd and renamed over <path>, and the directory is fsync'd. A failure at any step removes
 * the temporary file and leaves <path> as it was; a crash before the rename leaves <path> intact
 * (and perhaps a stale <path>.tmp, which the next write replaces). */
#define LB_CHECKPOINT_NAME_MAX 63
#define LB_CHECKPOINT_VERSION 1

typedef struct lb_checkpoint_writer lb_checkpoint_writer;
typedef struct lb_checkpoint_reader lb_checkpoint_reader;

/* Creates <path>.tmp and writes the header. */
lb_io_status lb_checkpoint_begin(const char *path, lb_checkpoint_writer **writer, char *err,
                                 size_t err_len);
/* Appends a section (bytes may be 0; data may then be NULL). A bad or duplicate name gives
 * LB_IO_INVALID_ARGUMENT; any failure marks the writer failed, and its commit then fails too. */
lb_io_status lb_checkpoint_add_section(lb_checkpoint_writer *writer, const char *name,
                                       const void *data, size_t bytes, char *err, size_t err_len);
/* Finishes the file and renames it over <path>, or on any failure (this call's or an earlier
 * add_section's) removes the temporary file. Frees the writer either way. */
lb_io_status lb_checkpoint_commit(lb_checkpoint_writer *writer, char *err, size_t err_len);
/* Abandons the write: removes the temporary file, frees the writer; NULL is accepted. */
void lb_checkpoint_abort(lb_checkpoint_writer *writer);

/* Reads and checks the whole file: length, magic, version, file length, CRC-32, then the
 * sections' layout and names (a duplicate is refused). */
lb_io_status lb_checkpoint_open(const char *path, lb_checkpoint_reader **reader, char *err,
                                size_t err_len);
size_t lb_checkpoint_section_count(const lb_checkpoint_reader *reader);
/* The name of section i in file order, or NULL when i is out of range. */
const char *lb_checkpoint_section_name(const lb_checkpoint_reader *reader, size_t i);
/* Points *data (8-byte aligned, valid until close) and *bytes at the section called name; a
 * missing section gives LB_IO_BAD_FILE and "<path>: no section 'name'". */
lb_io_status lb_checkpoint_find(const lb_checkpoint_reader *reader, const char *name,
                                const void **data, size_t *bytes, char *err, size_t err_len);
/* Copies the section called name, which must hold exactly bytes bytes, into out. */
lb_io_status lb_checkpoint_read(const lb_checkpoint_reader *reader, const char *name, void *out,
                                size_t bytes, char *err, size_t err_len);
void lb_checkpoint_close(lb_checkpoint_reader *reader);

#ifdef __cplusplus
}
#endif

#endif
