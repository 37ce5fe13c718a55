/* The fuzzers' seed corpora, made at build time from the repository's own files (kernels.spec,
 * targets/, runtime/train/configs/) and from the real writers (a checkpoint, gzip IDX files), so
 * that no binary seed is committed: make_seeds <output folder> <source root>. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "lowbit/train_io.h"

static const char *out_root, *source_root;

static void die(const char *what, const char *path) {
  fprintf(stderr, "make_seeds: error: %s %s\n", what, path);
  exit(1);
}

static char *read_all(const char *path, size_t *size) {
  FILE *file = fopen(path, "rb");
  if (!file) {
    die("cannot read", path);
  }
  char *bytes = NULL;
  size_t capacity = 0;
  *size = 0;
  for (;;) {
    if (*size == capacity) {
      capacity = capacity ? 2 * capacity : 4096;
      bytes = realloc(bytes, capacity);
      if (!bytes) {
        die("out of memory reading", path);
      }
    }
    size_t got = fread(bytes + *size, 1, capacity - *size, file);
    *size += got;
    if (got == 0) {
      break;
    }
  }
  fclose(file);
  return bytes;
}

/* <out>/<fuzzer>/<name>: prefix (prefix_size bytes) then each part with separator between. */
static void write_seed(const char *fuzzer, const char *name, const void *prefix, size_t prefix_size,
                       const void *part, size_t part_size, const void *more, size_t more_size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/%s", out_root, fuzzer);
  mkdir(path, 0777);
  snprintf(path, sizeof path, "%s/%s/%s", out_root, fuzzer, name);
  FILE *file = fopen(path, "wb");
  if (!file || fwrite(prefix, 1, prefix_size, file) != prefix_size ||
      fwrite(part, 1, part_size, file) != part_size ||
      fwrite(more, 1, more_size, file) != more_size || fclose(file) != 0) {
    die("cannot write", path);
  }
}

/* One seed per kernel line: inputs stay a line long, and each costs microseconds, where the whole
 * spec (some hundred lines, each a kernel to check) costs milliseconds; libFuzzer's cross-over
 * joins lines again. */
static void split_lines(const char *fuzzer, const char *name, const char *text, size_t size) {
  size_t count = 0;
  for (const char *line = text; line < text + size;) {
    const char *end = memchr(line, '\n', (size_t)(text + size - line));
    size_t length = end ? (size_t)(end - line) + 1 : (size_t)(text + size - line);
    if (line[0] != '#' && line[0] != '\n') {
      char seed[256];
      snprintf(seed, sizeof seed, "%s.%zu", name, ++count);
      write_seed(fuzzer, seed, "", 0, line, length, "", 0);
    }
    line += length;
  }
}

/* The files of <source>/<folder> whose names end in suffix, as seeds of fuzzer; a target's
 * `name =` line becomes the name its harness expects. */
static void copy_files(const char *fuzzer, const char *folder, const char *suffix) {
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/%s", source_root, folder);
  DIR *listing = opendir(dir);
  if (!listing) {
    die("cannot list", dir);
  }
  const struct dirent *entry;
  while ((entry = readdir(listing))) {
    size_t length = strlen(entry->d_name), tail = strlen(suffix);
    if (length <= tail || strcmp(entry->d_name + length - tail, suffix) != 0) {
      continue;
    }
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, entry->d_name);
    size_t size;
    char *text = read_all(path, &size);
    char *name_line = strcmp(fuzzer, "target") == 0 ? strstr(text, "name =") : NULL;
    if (strcmp(entry->d_name, "kernels.spec") == 0) {
      split_lines(fuzzer, entry->d_name, text, size);
    } else if (name_line) {
      size_t rest = strcspn(name_line, "\n");
      write_seed(fuzzer, entry->d_name, text, (size_t)(name_line - text), "name = fuzz", 11,
                 name_line + rest, size - (size_t)(name_line + rest - text));
    } else {
      write_seed(fuzzer, entry->d_name, "", 0, text, size, "", 0);
    }
    free(text);
  }
  closedir(listing);
}

static void tuning_seeds(void) {
  static const char *const targets[] = {"generic", "x86-avx2", "aarch64-neon", "armv7-neon"};
  for (size_t t = 0; t < sizeof targets / sizeof targets[0]; t++) {
    char path[1024];
    size_t tuning_size, crossover_size;
    snprintf(path, sizeof path, "%s/targets/%s.tuning", source_root, targets[t]);
    char *tuning = read_all(path, &tuning_size);
    snprintf(path, sizeof path, "%s/targets/%s.crossover", source_root, targets[t]);
    char *crossover = read_all(path, &crossover_size);
    write_seed("tuning", targets[t], tuning, tuning_size, "", 1, crossover, crossover_size);
    free(tuning);
    free(crossover);
  }
}

static void put_be32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A file's bytes as gzip makes them (zlib's gzwrite to a scratch file, read back). */
static char *gzipped(const void *bytes, size_t size, size_t *out_size) {
  char path[1024];
  snprintf(path, sizeof path, "%s/scratch.gz", out_root);
  gzFile file = gzopen(path, "wb9");
  if (!file || gzwrite(file, bytes, (unsigned)size) != (int)size || gzclose(file) != Z_OK) {
    die("cannot write", path);
  }
  char *packed = read_all(path, out_size);
  remove(path);
  return packed;
}

/* Three 2x3 images and their labels, in the harness's layout (fuzz_idx.c), plain and gzipped. */
static void idx_seeds(void) {
  uint8_t images[16 + 18], labels[8 + 3];
  put_be32(images, 0x803), put_be32(images + 4, 3), put_be32(images + 8, 2);
  put_be32(images + 12, 3);
  for (int i = 0; i < 18; i++) {
    images[16 + i] = (uint8_t)(i * 13);
  }
  put_be32(labels, 0x801), put_be32(labels + 4, 3);
  labels[8] = 0, labels[9] = 9, labels[10] = 4;
  uint8_t head[5] = {0, 0, 9, sizeof images, 0};
  write_seed("idx", "plain", head, sizeof head, images, sizeof images, labels, sizeof labels);
  head[0] = 2, head[1] = 1;
  write_seed("idx", "plain-keep-2", head, sizeof head, images, sizeof images, labels,
             sizeof labels);
  size_t packed_images_size, packed_labels_size;
  char *packed_images = gzipped(images, sizeof images, &packed_images_size);
  char *packed_labels = gzipped(labels, sizeof labels, &packed_labels_size);
  uint8_t raw[5] = {1, 0, 9, (uint8_t)packed_images_size, (uint8_t)(packed_images_size >> 8)};
  write_seed("idx", "gzip", raw, sizeof raw, packed_images, packed_images_size, packed_labels,
             packed_labels_size);
  free(packed_images);
  free(packed_labels);
}

/* Checkpoints from the real writer: no sections, and three as the trainer's, sealed or not. */
static void checkpoint_seed(const char *name, int sections) {
  char path[1024];
  snprintf(path, sizeof path, "%s/scratch.ckpt", out_root);
  lb_checkpoint_writer *writer;
  char err[LB_IO_ERROR_LEN];
  const uint64_t step = 42;
  const float weights[5] = {0.5f, -1.0f, 2.0f, 0.0f, 3.25f};
  if (lb_checkpoint_begin(path, &writer, err, sizeof err) != LB_IO_OK ||
      (sections &&
       (lb_checkpoint_add_section(writer, "step", &step, sizeof step, err, sizeof err) !=
            LB_IO_OK ||
        lb_checkpoint_add_section(writer, "tensor.0", weights, sizeof weights, err, sizeof err) !=
            LB_IO_OK ||
        lb_checkpoint_add_section(writer, "empty", NULL, 0, err, sizeof err) != LB_IO_OK)) ||
      lb_checkpoint_commit(writer, err, sizeof err) != LB_IO_OK) {
    die("cannot write a checkpoint:", err);
  }
  size_t size;
  char *file = read_all(path, &size);
  remove(path);
  char sealed[64];
  snprintf(sealed, sizeof sealed, "%s-sealed", name);
  write_seed("checkpoint", name, "\0", 1, file, size, "", 0);
  write_seed("checkpoint", sealed, "\1", 1, file, size, "", 0);
  free(file);
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: make_seeds <output folder> <source root>\n");
    return 2;
  }
  out_root = argv[1], source_root = argv[2];
  mkdir(out_root, 0777);
  copy_files("spec", ".", ".spec");
  copy_files("spec", "tests/generator/fixtures", ".spec");
  copy_files("target", "targets", ".target");
  tuning_seeds();
  copy_files("schedules", "targets", ".schedules");
  copy_files("schedules", "tests/generator/fixtures/schedules", ".schedules");
  copy_files("config", "runtime/train/configs", ".cfg");
  idx_seeds();
  checkpoint_seed("empty", 0);
  checkpoint_seed("three-sections", 1);
  return 0;
}
