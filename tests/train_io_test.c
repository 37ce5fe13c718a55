/* The training engine's files (docs/design.md, section 21). Parts, each given a scratch folder:
 * - fashion: Debian's Fashion-MNIST through lb_idx_dataset_load: counts, sizes, the first labels,
 *   6000 (1000) examples per class and the sum of all pixels, figures taken from Python's gzip
 *   module; max_count keeps a prefix. Skipped, saying so, without the package.
 * - idx: synthetic gzip IDX files, a valid pair read back, then each defect refused with its
 *   message: bad magic, wrong or zero sizes, truncated data, cut gzip stream, extra bytes, label
 * out of range, count mismatch, no examples, not gzip, missing file.
 * - checkpoint: sections of many sizes round-trip bit for bit; names in order; missing section and
 *   wrong size refused; overwriting; no temporary file left.
 * - corruption: every single-byte flip and every truncation of a small checkpoint refused; trailing
 *   bytes, a future version, a duplicate section behind a valid CRC refused.
 * - interrupted: a writer killed (SIGKILL) before its rename, one whose writes fail (RLIMIT_FSIZE)
 *   and one given a bad section leave the previous checkpoint readable and unchanged.
 * - invalid: the API's refusals of bad arguments. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include "lowbit/train_io.h"

#define FASHION_DIR "/usr/share/datasets/fashion-mnist"

static int failures;
static const char *scratch;

#define CHECK(cond, ...)                                                                           \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      failures++;                                                                                  \
      fprintf(stderr, "FAIL line %d: ", __LINE__);                                                 \
      fprintf(stderr, __VA_ARGS__);                                                                \
      fprintf(stderr, "\n");                                                                       \
    }                                                                                              \
  } while (0)

static char *scratch_path(const char *name) {
  static char paths[8][512];
  static int next;
  char *p = paths[next++ % 8];
  snprintf(p, sizeof paths[0], "%s/%s", scratch, name);
  return p;
}

static int exists(const char *path) {
  struct stat st;
  return stat(path, &st) == 0;
}

/* ---- fashion ---- */

static void check_fashion(const char *set, size_t count, const uint8_t first[10],
                          unsigned long long pixel_sum) {
  char images[256], labels[256], err[LB_IO_ERROR_LEN] = "";
  snprintf(images, sizeof images, FASHION_DIR "/%s-images-idx3-ubyte.gz", set);
  snprintf(labels, sizeof labels, FASHION_DIR "/%s-labels-idx1-ubyte.gz", set);
  lb_idx_spec spec = {28, 28, 10, 0};
  lb_idx_dataset d;
  lb_io_status s = lb_idx_dataset_load(images, labels, &spec, &d, err, sizeof err);
  CHECK(s == LB_IO_OK, "%s: status %d: %s", set, s, err);
  if (s != LB_IO_OK) {
    return;
  }
  CHECK(d.count == count && d.rows == 28 && d.cols == 28, "%s: %zu images of %ux%u", set, d.count,
        d.rows, d.cols);
  CHECK(memcmp(d.labels, first, 10) == 0, "%s: first labels differ", set);
  size_t per_class[10] = {0};
  for (size_t i = 0; i < d.count; i++) {
    per_class[d.labels[i]]++;
  }
  for (int c = 0; c < 10; c++) {
    CHECK(per_class[c] == count / 10, "%s: class %d has %zu examples", set, c, per_class[c]);
  }
  unsigned long long sum = 0;
  for (size_t i = 0; i < d.count * 28 * 28; i++) {
    sum += d.images[i];
  }
  CHECK(sum == pixel_sum, "%s: pixel sum %llu, expected %llu", set, sum, pixel_sum);

  lb_idx_spec prefix = {0, 0, 10, 100};
  lb_idx_dataset p;
  s = lb_idx_dataset_load(images, labels, &prefix, &p, err, sizeof err);
  CHECK(s == LB_IO_OK && p.count == 100, "%s: max_count 100: status %d, %zu", set, s, p.count);
  if (s == LB_IO_OK) {
    CHECK(memcmp(p.images, d.images, 100 * 784) == 0 && memcmp(p.labels, d.labels, 100) == 0,
          "%s: the prefix differs", set);
  }
  lb_idx_dataset_free(&p);
  lb_idx_dataset_free(&d);
}

static void test_fashion(void) {
  if (!exists(FASHION_DIR "/train-images-idx3-ubyte.gz")) {
    printf("skipped: no %s (Debian's dataset-fashion-mnist, scripts/install-deps.sh)\n",
           FASHION_DIR);
    return;
  }
  /* From Python: gzip.open(...).read(), labels[8:18], sum(images[16:]). */
  static const uint8_t train_first[10] = {9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
  static const uint8_t test_first[10] = {9, 2, 1, 1, 6, 1, 4, 6, 5, 7};
  check_fashion("train", 60000, train_first, 3431114169ull);
  check_fashion("t10k", 10000, test_first, 573469082ull);
}

/* ---- idx ---- */

static void be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

static void write_gz(const char *path, const uint8_t *data, size_t bytes) {
  gzFile gz = gzopen(path, "wb");
  if (gz == NULL || (bytes > 0 && gzwrite(gz, data, (unsigned)bytes) != (int)bytes) ||
      gzclose(gz) != Z_OK) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
}

static void write_plain(const char *path, const uint8_t *data, size_t bytes) {
  FILE *f = fopen(path, "wb");
  if (f == NULL || fwrite(data, 1, bytes, f) != bytes || fclose(f) != 0) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
}

/* An images file: magic, n, rows, cols, then pixel (i * 31 + j) % 256; extra bytes appended and
 * the data cut to data_bytes when given. */
static void write_images(const char *path, uint32_t magic, uint32_t n, uint32_t rows, uint32_t cols,
                         long data_bytes, size_t extra) {
  size_t pixels = data_bytes >= 0 ? (size_t)data_bytes : (size_t)n * rows * cols;
  uint8_t *buf = malloc(16 + pixels + extra);
  be32(buf, magic);
  be32(buf + 4, n);
  be32(buf + 8, rows);
  be32(buf + 12, cols);
  for (size_t i = 0; i < pixels + extra; i++) {
    buf[16 + i] = (uint8_t)(i * 31 % 256);
  }
  write_gz(path, buf, 16 + pixels + extra);
  free(buf);
}

static void write_labels(const char *path, uint32_t magic, uint32_t n, uint8_t bad_label,
                         uint32_t bad_at) {
  uint8_t *buf = malloc(8 + n);
  be32(buf, magic);
  be32(buf + 4, n);
  for (uint32_t i = 0; i < n; i++) {
    buf[8 + i] = i == bad_at ? bad_label : (uint8_t)(i % 10);
  }
  write_gz(path, buf, 8 + n);
  free(buf);
}

static void expect_refused(const char *what, const char *images, const char *labels,
                           const lb_idx_spec *spec, lb_io_status status, const char *file,
                           const char *message) {
  char err[LB_IO_ERROR_LEN] = "";
  lb_idx_dataset d;
  lb_io_status s = lb_idx_dataset_load(images, labels, spec, &d, err, sizeof err);
  CHECK(s == status, "%s: status %d, expected %d (%s)", what, s, status, err);
  CHECK(strncmp(err, file, strlen(file)) == 0 && strstr(err, message) != NULL &&
            strchr(err, '\n') == NULL,
        "%s: message '%s', expected '%s: ...%s...'", what, err, file, message);
  CHECK(d.images == NULL && d.labels == NULL && d.count == 0, "%s: dataset not zeroed", what);
}

static void test_idx(void) {
  const char *images = scratch_path("images.gz"), *labels = scratch_path("labels.gz");
  const char *bad_images = scratch_path("bad-images.gz"),
             *bad_labels = scratch_path("bad-labels.gz");
  const uint32_t n = 37, rows = 5, cols = 3;
  write_images(images, 0x803, n, rows, cols, -1, 0);
  write_labels(labels, 0x801, n, 0, UINT32_MAX);
  lb_idx_spec spec = {rows, cols, 10, 0};
  char err[LB_IO_ERROR_LEN] = "";
  lb_idx_dataset d;
  lb_io_status s = lb_idx_dataset_load(images, labels, &spec, &d, err, sizeof err);
  CHECK(s == LB_IO_OK && d.count == n && d.rows == rows && d.cols == cols, "valid: %d %s", s, err);
  if (s == LB_IO_OK) {
    for (size_t i = 0; i < n * rows * cols; i++) {
      CHECK(d.images[i] == (uint8_t)(i * 31 % 256), "valid: pixel %zu is %u", i, d.images[i]);
    }
    for (uint32_t i = 0; i < n; i++) {
      CHECK(d.labels[i] == i % 10, "valid: label %u is %u", i, d.labels[i]);
    }
  }
  lb_idx_dataset_free(&d);
  lb_idx_spec any = {0, 0, 10, 5};
  s = lb_idx_dataset_load(images, labels, &any, &d, err, sizeof err);
  CHECK(s == LB_IO_OK && d.count == 5 && d.labels[4] == 4, "max_count: %d %s", s, err);
  lb_idx_dataset_free(&d);

  write_images(bad_images, 0x804, n, rows, cols, -1, 0);
  expect_refused("bad magic", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                 "bad magic 0x00000804, expected 0x00000803");
  expect_refused("labels as images", labels, labels, &spec, LB_IO_BAD_FILE, labels,
                 "bad magic 0x00000801 (a labels file)");
  expect_refused("images as labels", images, images, &spec, LB_IO_BAD_FILE, images,
                 "bad magic 0x00000803 (an images file), expected 0x00000801");
  write_images(bad_images, 0x803, n, rows, cols + 1, -1, 0);
  expect_refused("wrong size", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                 "images of 5x4, expected 5x3");
  write_images(bad_images, 0x803, n, 0, cols, -1, 0);
  expect_refused("zero rows", bad_images, labels, &any, LB_IO_BAD_FILE, bad_images,
                 "images of 0x3 (rows and columns must be 1 to 4096)");
  write_images(bad_images, 0x803, n, rows, 5000, 0, 0);
  expect_refused("huge columns", bad_images, labels, &any, LB_IO_BAD_FILE, bad_images,
                 "images of 5x5000");
  write_images(bad_images, 0x803, 0, rows, cols, -1, 0);
  expect_refused("no images", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                 "holds no examples");
  write_images(bad_images, 0x803, n, rows, cols, (long)(n * rows * cols - 1), 0);
  expect_refused("truncated data", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                 "truncated: the data ends after 554 of 555 bytes (37 images of 5x3)");
  /* Also with max_count: the rest of the file is still checked. */
  expect_refused("truncated past max_count", bad_images, labels, &any, LB_IO_BAD_FILE, bad_images,
                 "truncated: the data ends after 554 of 555 bytes");
  write_images(bad_images, 0x803, 0xffffffffu, rows, cols, (long)(n * rows * cols), 0);
  expect_refused("header promising 4G images", bad_images, labels, &spec, LB_IO_BAD_FILE,
                 bad_images, "truncated: the data ends after 555 of");
  write_images(bad_images, 0x803, n, rows, cols, -1, 1);
  expect_refused("extra bytes", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                 "bytes after the end of the data (the header says 37 images of 5x3)");
  write_images(bad_images, 0x803, 2, rows, cols, 8, 0);
  expect_refused("short data", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                 "truncated: the data ends after 8 of 30 bytes");
  {
    uint8_t header[10] = {0, 0, 8, 3, 0, 0, 0, 1, 0, 0};
    write_gz(bad_images, header, sizeof header);
    expect_refused("short header", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                   "ends after 10 of the 16 header bytes");
  }
  write_labels(bad_labels, 0x801, n, 10, 17);
  expect_refused("label out of range", images, bad_labels, &spec, LB_IO_BAD_FILE, bad_labels,
                 "label 10 of example 17 is not below 10");
  lb_idx_spec three = {rows, cols, 3, 0};
  expect_refused("label beyond the class count", images, labels, &three, LB_IO_BAD_FILE, labels,
                 "label 3 of example 3 is not below 3");
  write_labels(bad_labels, 0x801, n + 1, 0, UINT32_MAX);
  expect_refused("count mismatch", images, bad_labels, &spec, LB_IO_BAD_FILE, bad_labels,
                 "38 labels for the 37 images of");
  {
    uint8_t raw[16 + 15];
    be32(raw, 0x803);
    be32(raw + 4, 1);
    be32(raw + 8, rows);
    be32(raw + 12, cols);
    memset(raw + 16, 7, 15);
    write_plain(bad_images, raw, sizeof raw);
    expect_refused("not gzip", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                   "not a gzip file");
  }
  {
    /* The gzip stream cut in the middle: zlib reports it, the loader passes it on. */
    FILE *f = fopen(images, "rb");
    uint8_t buf[4096];
    size_t bytes = fread(buf, 1, sizeof buf, f);
    fclose(f);
    write_plain(bad_images, buf, bytes - 9);
    expect_refused("cut gzip stream", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                   "corrupt gzip data: ");
    buf[bytes - 6] ^= 0x40; /* the stored CRC-32 */
    write_plain(bad_images, buf, bytes);
    expect_refused("gzip CRC", bad_images, labels, &spec, LB_IO_BAD_FILE, bad_images,
                   "corrupt gzip data: ");
  }
  expect_refused("missing file", scratch_path("none.gz"), labels, &spec, LB_IO_SYSTEM_ERROR,
                 scratch_path("none.gz"), "cannot open: ");
}

/* ---- checkpoints ---- */

typedef struct blob {
  const char *name;
  uint8_t *data;
  size_t bytes;
} blob;

static uint64_t lcg = 0x853c49e6748fea9bu;
static uint8_t next_byte(void) {
  lcg = lcg * 6364136223846793005u + 1442695040888963407u;
  return (uint8_t)(lcg >> 56);
}

static void make_blobs(blob *blobs, size_t count) {
  for (size_t i = 0; i < count; i++) {
    blobs[i].data = malloc(blobs[i].bytes == 0 ? 1 : blobs[i].bytes);
    for (size_t j = 0; j < blobs[i].bytes; j++) {
      blobs[i].data[j] = next_byte();
    }
  }
}

static void free_blobs(blob *blobs, size_t count) {
  for (size_t i = 0; i < count; i++) {
    free(blobs[i].data);
  }
}

static lb_io_status write_checkpoint(const char *path, const blob *blobs, size_t count) {
  char err[LB_IO_ERROR_LEN] = "";
  lb_checkpoint_writer *w = NULL;
  lb_io_status s = lb_checkpoint_begin(path, &w, err, sizeof err);
  for (size_t i = 0; s == LB_IO_OK && i < count; i++) {
    s = lb_checkpoint_add_section(w, blobs[i].name, blobs[i].data, blobs[i].bytes, err, sizeof err);
  }
  if (w != NULL) {
    lb_io_status c = lb_checkpoint_commit(w, err, sizeof err);
    s = s != LB_IO_OK ? s : c;
  }
  CHECK(s == LB_IO_OK, "writing %s: %d %s", path, s, err);
  return s;
}

/* Whether the checkpoint at path holds exactly these sections, bit for bit, in this order. */
static int holds(const char *path, const blob *blobs, size_t count) {
  char err[LB_IO_ERROR_LEN] = "";
  lb_checkpoint_reader *r = NULL;
  lb_io_status s = lb_checkpoint_open(path, &r, err, sizeof err);
  CHECK(s == LB_IO_OK, "opening %s: %d %s", path, s, err);
  if (s != LB_IO_OK) {
    return 0;
  }
  int same = lb_checkpoint_section_count(r) == count;
  for (size_t i = 0; same && i < count; i++) {
    const void *data = NULL;
    size_t bytes = 0;
    same = strcmp(lb_checkpoint_section_name(r, i), blobs[i].name) == 0 &&
           lb_checkpoint_find(r, blobs[i].name, &data, &bytes, err, sizeof err) == LB_IO_OK &&
           bytes == blobs[i].bytes && (uintptr_t)data % 8 == 0 &&
           (bytes == 0 || memcmp(data, blobs[i].data, bytes) == 0);
  }
  lb_checkpoint_close(r);
  return same;
}

static void test_checkpoint(void) {
  static const char long_name[] = "a-name-of-sixty-three-characters-exactly-0123456789-abcdefghijk";
  blob blobs[] = {{"step", NULL, 8},
                  {"empty", NULL, 0},
                  {"one", NULL, 1},
                  {"seven", NULL, 7},
                  {"eight", NULL, 8},
                  {"nine", NULL, 9},
                  {"conv1.weights", NULL, 288 * 1 + 3},
                  {long_name, NULL, 70001},
                  {"rng.streams", NULL, 64},
                  {"loss_scale", NULL, 24}};
  const size_t count = sizeof blobs / sizeof blobs[0];
  CHECK(strlen(long_name) == LB_CHECKPOINT_NAME_MAX, "long name has %zu", strlen(long_name));
  make_blobs(blobs, count);
  const char *path = scratch_path("run.ckpt");
  const char *temp = scratch_path("run.ckpt.tmp");
  if (write_checkpoint(path, blobs, count) == LB_IO_OK) {
    CHECK(holds(path, blobs, count), "round trip differs");
    CHECK(!exists(temp), "temporary file left behind");
  }
  char err[LB_IO_ERROR_LEN] = "";
  lb_checkpoint_reader *r = NULL;
  if (lb_checkpoint_open(path, &r, err, sizeof err) == LB_IO_OK) {
    const void *data = &err;
    size_t bytes = 1;
    lb_io_status s = lb_checkpoint_find(r, "momentum", &data, &bytes, err, sizeof err);
    CHECK(s == LB_IO_BAD_FILE && data == NULL && bytes == 0 &&
              strstr(err, "run.ckpt: no section 'momentum'") != NULL,
          "missing section: %d '%s'", s, err);
    uint8_t step[8] = {0};
    s = lb_checkpoint_read(r, "step", step, 4, err, sizeof err);
    CHECK(s == LB_IO_BAD_FILE && strstr(err, "section 'step' holds 8 bytes, expected 4") != NULL,
          "wrong size: %d '%s'", s, err);
    s = lb_checkpoint_read(r, "step", step, 8, err, sizeof err);
    CHECK(s == LB_IO_OK && memcmp(step, blobs[0].data, 8) == 0, "read: %d %s", s, err);
    CHECK(lb_checkpoint_section_name(r, count) == NULL, "name past the end");
    lb_checkpoint_close(r);
  }
  /* Overwriting with different sections replaces the file whole. */
  if (write_checkpoint(path, blobs + 2, 3) == LB_IO_OK) {
    CHECK(holds(path, blobs + 2, 3), "overwritten checkpoint differs");
  }
  if (write_checkpoint(path, NULL, 0) == LB_IO_OK) {
    CHECK(holds(path, NULL, 0), "empty checkpoint differs");
  }
  free_blobs(blobs, count);
}

static size_t read_all(const char *path, uint8_t *buf, size_t capacity) {
  FILE *f = fopen(path, "rb");
  size_t n = f == NULL ? 0 : fread(buf, 1, capacity, f);
  if (f != NULL) {
    fclose(f);
  }
  return n;
}

static void expect_bad(const char *path, const char *what, size_t at, const char *message) {
  char err[LB_IO_ERROR_LEN] = "";
  lb_checkpoint_reader *r = NULL;
  lb_io_status s = lb_checkpoint_open(path, &r, err, sizeof err);
  CHECK(s == LB_IO_BAD_FILE && r == NULL && strncmp(err, path, strlen(path)) == 0 &&
            strchr(err, '\n') == NULL && (message == NULL || strstr(err, message) != NULL),
        "%s at %zu: status %d, '%s'", what, at, s, err);
  lb_checkpoint_close(r);
}

static void put_le32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static void test_corruption(void) {
  blob blobs[] = {{"step", NULL, 8}, {"w", NULL, 13}, {"empty", NULL, 0}, {"v", NULL, 16}};
  make_blobs(blobs, 4);
  const char *path = scratch_path("small.ckpt"), *bad = scratch_path("bad.ckpt");
  write_checkpoint(path, blobs, 4);
  uint8_t good[1024], buf[1024 + 8];
  size_t size = read_all(path, good, sizeof good);
  /* 24 header + 4 * 72 section headers + 8 + 16 + 0 + 16 data and padding + 8 trailer. */
  CHECK(size == 24 + 4 * 72 + 8 + 16 + 0 + 16 + 8, "small checkpoint of %zu bytes", size);
  for (size_t at = 0; at < size; at++) {
    for (int bit = 0; bit < 8; bit += 7) {
      memcpy(buf, good, size);
      buf[at] ^= (uint8_t)(1u << bit);
      write_plain(bad, buf, size);
      expect_bad(bad, "flip", at, NULL);
    }
  }
  for (size_t length = 0; length < size; length++) {
    write_plain(bad, good, length);
    expect_bad(bad, "truncation", length, "truncated: ");
  }
  memcpy(buf, good, size);
  memset(buf + size, 0, 8);
  write_plain(bad, buf, size + 3);
  expect_bad(bad, "trailing bytes", size, "3 bytes after the 360 bytes its header gives");
  memcpy(buf, good, size);
  buf[0] = 'X';
  write_plain(bad, buf, size);
  expect_bad(bad, "magic", 0, "not a lowbit checkpoint (bad magic)");
  memcpy(buf, good, size);
  put_le32(buf + 8, 2);
  write_plain(bad, buf, size);
  expect_bad(bad, "version", 8, "checkpoint version 2, this build reads version 1");
  memcpy(buf, good, size);
  buf[24 + 72 + 8 + 2] ^= 1;
  write_plain(bad, buf, size);
  expect_bad(bad, "data byte", 24 + 72 + 8 + 2, "checksum mismatch");
  /* A duplicate that only a buggy or hostile writer makes, behind a CRC made to match. */
  memcpy(buf, good, size);
  memcpy(buf + 24 + 72 + 8, good + 24, 64); /* section 1's name field := section 0's */
  put_le32(buf + size - 8, (uint32_t)crc32(0, buf, (uInt)(size - 8)));
  write_plain(bad, buf, size);
  expect_bad(bad, "duplicate", 0, "duplicate section 'step'");
  free_blobs(blobs, 4);
}

/* ---- interrupted writes ---- */

enum child_mode { KILLED, FILE_TOO_LARGE };

static int run_child(const char *path, enum child_mode mode) {
  pid_t pid = fork();
  if (pid == 0) {
    if (mode == FILE_TOO_LARGE) {
      struct rlimit limit = {4096, RLIM_INFINITY};
      signal(SIGXFSZ, SIG_IGN);
      if (setrlimit(RLIMIT_FSIZE, &limit) != 0) {
        _exit(3);
      }
    }
    static uint8_t big[1 << 16];
    memset(big, 0x5a, sizeof big);
    char err[LB_IO_ERROR_LEN] = "";
    lb_checkpoint_writer *w = NULL;
    if (lb_checkpoint_begin(path, &w, err, sizeof err) != LB_IO_OK) {
      _exit(4);
    }
    lb_io_status s = lb_checkpoint_add_section(w, "weights", big, sizeof big, err, sizeof err);
    if (mode == KILLED) {
      fflush(NULL);
      raise(SIGKILL);
    }
    char commit_err[LB_IO_ERROR_LEN] = "";
    lb_io_status c = lb_checkpoint_commit(w, commit_err, sizeof commit_err);
    /* The failure (at add_section, or at commit when stdio buffered the data) must be reported as
     * the system's, naming the temporary file; a commit after a failed add is refused. */
    int reported = s == LB_IO_SYSTEM_ERROR
                       ? c == LB_IO_SYSTEM_ERROR && strstr(err, ".tmp: write failed: ") != NULL &&
                             strstr(commit_err, "not written") != NULL
                       : c == LB_IO_SYSTEM_ERROR && strstr(commit_err, ".tmp: ") != NULL;
    if (!reported) {
      fprintf(stderr, "child: add %d '%s', commit %d '%s'\n", s, err, c, commit_err);
    }
    _exit(reported ? 0 : 5);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return status;
}

static void test_interrupted(void) {
  blob old[] = {{"step", NULL, 8}, {"weights", NULL, 1000}};
  make_blobs(old, 2);
  const char *path = scratch_path("kill.ckpt"), *temp = scratch_path("kill.ckpt.tmp");
  write_checkpoint(path, old, 2);

  int status = run_child(path, KILLED);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "killed child: status %d", status);
  CHECK(holds(path, old, 2), "after a kill the old checkpoint is not intact");
  CHECK(exists(temp), "the killed writer's temporary file should still be there");

  status = run_child(path, FILE_TOO_LARGE);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "failing child: status %d", status);
  CHECK(holds(path, old, 2), "after a failed write the old checkpoint is not intact");
  CHECK(!exists(temp), "a failed write left its temporary file");

  char err[LB_IO_ERROR_LEN] = "";
  lb_checkpoint_writer *w = NULL;
  lb_io_status s = lb_checkpoint_begin(path, &w, err, sizeof err);
  CHECK(s == LB_IO_OK, "begin: %d %s", s, err);
  s = lb_checkpoint_add_section(w, "step", old[0].data, 8, err, sizeof err);
  CHECK(s == LB_IO_OK, "add: %d %s", s, err);
  s = lb_checkpoint_add_section(w, "step", old[0].data, 8, err, sizeof err);
  CHECK(s == LB_IO_INVALID_ARGUMENT && strstr(err, "section 'step' added twice") != NULL,
        "duplicate add: %d '%s'", s, err);
  s = lb_checkpoint_commit(w, err, sizeof err);
  CHECK(s == LB_IO_INVALID_ARGUMENT && strstr(err, "not written") != NULL, "commit: %d '%s'", s,
        err);
  CHECK(holds(path, old, 2), "after a refused write the old checkpoint is not intact");
  CHECK(!exists(temp), "a refused write left its temporary file");

  w = NULL;
  CHECK(lb_checkpoint_begin(path, &w, err, sizeof err) == LB_IO_OK, "begin: %s", err);
  lb_checkpoint_abort(w);
  CHECK(holds(path, old, 2) && !exists(temp), "abort changed something");

  s = lb_checkpoint_begin(scratch_path("no-such-dir/x.ckpt"), &w, err, sizeof err);
  CHECK(s == LB_IO_SYSTEM_ERROR && w == NULL && strstr(err, "x.ckpt.tmp: cannot create: ") != NULL,
        "no directory: %d '%s'", s, err);
  free_blobs(old, 2);
}

/* ---- invalid arguments ---- */

static void test_invalid(void) {
  lb_idx_dataset d;
  lb_idx_spec spec = {28, 28, 10, 0};
  char err[LB_IO_ERROR_LEN] = "";
  CHECK(lb_idx_dataset_load(NULL, "x", &spec, &d, err, sizeof err) == LB_IO_INVALID_ARGUMENT,
        "NULL images path");
  CHECK(lb_idx_dataset_load("x", "x", NULL, &d, err, sizeof err) == LB_IO_INVALID_ARGUMENT,
        "NULL spec");
  CHECK(lb_idx_dataset_load("x", "x", &spec, NULL, err, sizeof err) == LB_IO_INVALID_ARGUMENT,
        "NULL dataset");
  lb_idx_spec bad[] = {{28, 28, 0, 0}, {28, 28, 257, 0}, {28, 0, 10, 0}, {5000, 5000, 10, 0}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    CHECK(lb_idx_dataset_load("x", "x", &bad[i], &d, err, sizeof err) == LB_IO_INVALID_ARGUMENT,
          "bad spec %zu", i);
  }
  lb_idx_dataset_free(NULL);

  lb_checkpoint_writer *w = NULL;
  CHECK(lb_checkpoint_begin(NULL, &w, NULL, 0) == LB_IO_INVALID_ARGUMENT, "NULL path");
  CHECK(lb_checkpoint_begin("", &w, NULL, 0) == LB_IO_INVALID_ARGUMENT, "empty path");
  CHECK(lb_checkpoint_begin("x", NULL, NULL, 0) == LB_IO_INVALID_ARGUMENT, "NULL writer");
  CHECK(lb_checkpoint_add_section(NULL, "a", "", 0, NULL, 0) == LB_IO_INVALID_ARGUMENT,
        "NULL writer add");
  CHECK(lb_checkpoint_commit(NULL, NULL, 0) == LB_IO_INVALID_ARGUMENT, "NULL commit");
  lb_checkpoint_abort(NULL);
  static const char *bad_names[] = {
      "",          "has space", "tab\t",
      "new\nline", "\x7f",      "a-name-of-sixty-four-characters-exactly-0123456789-abcdefghijklm"};
  for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
    CHECK(lb_checkpoint_begin(scratch_path("names.ckpt"), &w, err, sizeof err) == LB_IO_OK,
          "begin: %s", err);
    CHECK(lb_checkpoint_add_section(w, bad_names[i], "x", 1, err, sizeof err) ==
              LB_IO_INVALID_ARGUMENT,
          "bad name %zu accepted", i);
    lb_checkpoint_abort(w);
  }
  CHECK(lb_checkpoint_begin(scratch_path("names.ckpt"), &w, err, sizeof err) == LB_IO_OK,
        "begin: %s", err);
  CHECK(lb_checkpoint_add_section(w, "data", NULL, 4, err, sizeof err) == LB_IO_INVALID_ARGUMENT,
        "NULL data accepted");
  lb_checkpoint_abort(w);
  CHECK(!exists(scratch_path("names.ckpt.tmp")), "abort left its temporary file");

  lb_checkpoint_reader *r = NULL;
  CHECK(lb_checkpoint_open(NULL, &r, NULL, 0) == LB_IO_INVALID_ARGUMENT, "NULL open path");
  CHECK(lb_checkpoint_open("x", NULL, NULL, 0) == LB_IO_INVALID_ARGUMENT, "NULL reader");
  const void *data;
  size_t bytes;
  CHECK(lb_checkpoint_find(NULL, "a", &data, &bytes, NULL, 0) == LB_IO_INVALID_ARGUMENT,
        "NULL reader find");
  CHECK(lb_checkpoint_read(NULL, "a", NULL, 1, NULL, 0) == LB_IO_INVALID_ARGUMENT, "NULL out read");
  CHECK(lb_checkpoint_section_count(NULL) == 0 && lb_checkpoint_section_name(NULL, 0) == NULL,
        "NULL reader queries");
  lb_checkpoint_close(NULL);
}

int main(int argc, char **argv) {
  static const struct {
    const char *name;
    void (*run)(void);
  } parts[] = {{"fashion", test_fashion},         {"idx", test_idx},
               {"checkpoint", test_checkpoint},   {"corruption", test_corruption},
               {"interrupted", test_interrupted}, {"invalid", test_invalid}};
  if (argc != 3) {
    fprintf(stderr, "usage: %s <part> <scratch folder>\n", argv[0]);
    return 2;
  }
  scratch = argv[2];
  if (mkdir(scratch, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "cannot create %s: %s\n", scratch, strerror(errno));
    return 2;
  }
  for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
    if (strcmp(argv[1], parts[i].name) == 0) {
      parts[i].run();
      if (failures == 0) {
        printf("train io %s: ok\n", parts[i].name);
      }
      return failures == 0 ? 0 : 1;
    }
  }
  fprintf(stderr, "unknown part %s\n", argv[1]);
  return 2;
}
