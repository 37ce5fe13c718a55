/* Checkpoint files (lowbit/train_io.h, docs/design.md section 21). */
#define _POSIX_C_SOURCE 200809L
/* crc32_combine64: the sections stream out before the header's final fields are known. */
#define _LARGEFILE64_SOURCE

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "lowbit/train_io.h"

#define HEADER_BYTES 24
#define NAME_BYTES 64
#define SECTION_HEADER_BYTES (NAME_BYTES + 8)
#define TRAILER_BYTES 8
#define CRC_CHUNK ((size_t)1 << 30)

static const uint8_t magic[8] = {0x89, 'L', 'B', 'C', 'K', 'P', 'T', '\n'};
static const uint8_t end_mark[4] = {'L', 'B', 'C', 'E'};

__attribute__((format(printf, 4, 5))) static lb_io_status
fail(char *err, size_t err_len, const char *path, const char *format, ...) {
  if (err != NULL && err_len > 0) {
    int used = snprintf(err, err_len, "%s: ", path);
    if (used >= 0 && (size_t)used < err_len) {
      va_list args;
      va_start(args, format);
      vsnprintf(err + used, err_len - (size_t)used, format, args);
      va_end(args);
    }
  }
  return LB_IO_BAD_FILE;
}

/* fail() for the operating system's refusals: the status says so, the message carries errno. */
static lb_io_status fail_system(char *err, size_t err_len, const char *path, const char *what) {
  fail(err, err_len, path, "%s: %s", what, strerror(errno));
  return LB_IO_SYSTEM_ERROR;
}

static void put32(uint8_t *p, uint32_t v) {
  for (int i = 0; i < 4; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static void put64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++) {
    p[i] = (uint8_t)(v >> (8 * i));
  }
}

static uint32_t get32(const uint8_t *p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; i--) {
    v = v << 8 | p[i];
  }
  return v;
}

static uint64_t get64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--) {
    v = v << 8 | p[i];
  }
  return v;
}

static uint32_t crc_update(uint32_t crc, const uint8_t *data, size_t bytes) {
  while (bytes > 0) {
    size_t n = bytes < CRC_CHUNK ? bytes : CRC_CHUNK;
    crc = (uint32_t)crc32(crc, data, (uInt)n);
    data += n;
    bytes -= n;
  }
  return crc;
}

static size_t padding(uint64_t bytes) { return (size_t)((8 - bytes % 8) % 8); }

static int valid_name(const char *name) {
  size_t length = strlen(name);
  if (length == 0 || length > LB_CHECKPOINT_NAME_MAX) {
    return 0;
  }
  for (size_t i = 0; i < length; i++) {
    if ((unsigned char)name[i] < 0x21 || (unsigned char)name[i] > 0x7e) {
      return 0;
    }
  }
  return 1;
}

static char *concat(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  char *s = malloc(la + lb + 1);
  if (s != NULL) {
    memcpy(s, a, la);
    memcpy(s + la, b, lb + 1);
  }
  return s;
}

/* ---- writing ---- */

struct lb_checkpoint_writer {
  char *path, *temp_path;
  FILE *file;
  uint32_t body_crc; /* of every byte after the header written so far */
  uint64_t body_bytes;
  char (*names)[NAME_BYTES];
  size_t count, capacity;
  lb_io_status failed; /* LB_IO_OK until a step fails */
};

static void discard(lb_checkpoint_writer *w) {
  if (w->file != NULL) {
    fclose(w->file);
  }
  if (w->temp_path != NULL) {
    unlink(w->temp_path);
  }
  free(w->names);
  free(w->temp_path);
  free(w->path);
  free(w);
}

static lb_io_status emit(lb_checkpoint_writer *w, const void *data, size_t bytes, char *err,
                         size_t err_len) {
  if (bytes == 0) {
    return LB_IO_OK;
  }
  if (fwrite(data, 1, bytes, w->file) != bytes) {
    return fail_system(err, err_len, w->temp_path, "write failed");
  }
  w->body_crc = crc_update(w->body_crc, data, bytes);
  w->body_bytes += bytes;
  return LB_IO_OK;
}

lb_io_status lb_checkpoint_begin(const char *path, lb_checkpoint_writer **writer, char *err,
                                 size_t err_len) {
  if (writer != NULL) {
    *writer = NULL;
  }
  if (path == NULL || path[0] == '\0' || writer == NULL) {
    return LB_IO_INVALID_ARGUMENT;
  }
  lb_checkpoint_writer *w = calloc(1, sizeof *w);
  if (w == NULL) {
    return LB_IO_OUT_OF_MEMORY;
  }
  w->path = concat(path, "");
  w->temp_path = concat(path, ".tmp");
  if (w->path == NULL || w->temp_path == NULL) {
    free(w->temp_path);
    w->temp_path = NULL;
    discard(w);
    return LB_IO_OUT_OF_MEMORY;
  }
  w->body_crc = (uint32_t)crc32(0, Z_NULL, 0);
  /* O_NOFOLLOW: a symbolic link planted at the temporary name must not redirect the write. */
  int fd = open(w->temp_path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) {
    lb_io_status status = fail_system(err, err_len, w->temp_path, "cannot create");
    free(w->temp_path);
    w->temp_path = NULL; /* not ours to remove */
    discard(w);
    return status;
  }
  w->file = fdopen(fd, "wb");
  if (w->file == NULL) {
    lb_io_status status = fail_system(err, err_len, w->temp_path, "cannot open");
    close(fd);
    discard(w);
    return status;
  }
  /* The header's count and length are known at commit, which writes it over these zeros. */
  static const uint8_t placeholder[HEADER_BYTES];
  if (fwrite(placeholder, 1, sizeof placeholder, w->file) != sizeof placeholder) {
    lb_io_status status = fail_system(err, err_len, w->temp_path, "write failed");
    discard(w);
    return status;
  }
  *writer = w;
  return LB_IO_OK;
}

lb_io_status lb_checkpoint_add_section(lb_checkpoint_writer *w, const char *name, const void *data,
                                       size_t bytes, char *err, size_t err_len) {
  if (w == NULL) {
    return LB_IO_INVALID_ARGUMENT;
  }
  if (w->failed != LB_IO_OK) {
    return w->failed;
  }
  if (name == NULL || !valid_name(name) || (data == NULL && bytes != 0)) {
    fail(err, err_len, w->path, "a section needs a name of 1 to %d printable ASCII characters%s",
         LB_CHECKPOINT_NAME_MAX, data == NULL && bytes != 0 ? " and data" : "");
    w->failed = LB_IO_INVALID_ARGUMENT;
    return w->failed;
  }
  for (size_t i = 0; i < w->count; i++) {
    if (strcmp(w->names[i], name) == 0) {
      fail(err, err_len, w->path, "section '%s' added twice", name);
      w->failed = LB_IO_INVALID_ARGUMENT;
      return w->failed;
    }
  }
  if (w->count == UINT32_MAX) {
    fail(err, err_len, w->path, "more than %" PRIu32 " sections", UINT32_MAX);
    w->failed = LB_IO_INVALID_ARGUMENT;
    return w->failed;
  }
  if (w->count == w->capacity) {
    size_t capacity = w->capacity == 0 ? 16 : w->capacity * 2;
    char(*names)[NAME_BYTES] = realloc(w->names, capacity * sizeof *names);
    if (names == NULL) {
      w->failed = LB_IO_OUT_OF_MEMORY;
      return w->failed;
    }
    w->names = names;
    w->capacity = capacity;
  }
  uint8_t header[SECTION_HEADER_BYTES] = {0};
  memcpy(header, name, strlen(name));
  put64(header + NAME_BYTES, bytes);
  static const uint8_t zeros[8];
  lb_io_status status = emit(w, header, sizeof header, err, err_len);
  for (size_t done = 0; status == LB_IO_OK && done < bytes;) {
    size_t n = bytes - done < CRC_CHUNK ? bytes - done : CRC_CHUNK;
    status = emit(w, (const uint8_t *)data + done, n, err, err_len);
    done += n;
  }
  if (status == LB_IO_OK) {
    status = emit(w, zeros, padding(bytes), err, err_len);
  }
  if (status != LB_IO_OK) {
    w->failed = status;
    return status;
  }
  memset(w->names[w->count], 0, NAME_BYTES);
  memcpy(w->names[w->count], name, strlen(name));
  w->count++;
  return LB_IO_OK;
}

/* The directory holding path, so that the rename itself reaches the disk. */
static lb_io_status sync_directory(const char *path, char *err, size_t err_len) {
  const char *slash = strrchr(path, '/');
  char *dir = slash == NULL ? concat(".", "") : concat(path, "");
  if (dir == NULL) {
    return LB_IO_OUT_OF_MEMORY;
  }
  if (slash != NULL) {
    dir[slash == path ? 1 : slash - path] = '\0';
  }
  lb_io_status status = LB_IO_OK;
  int fd = open(dir, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) != 0) {
    status = fail_system(err, err_len, path, "written, but syncing its directory failed");
  }
  if (fd >= 0) {
    close(fd);
  }
  free(dir);
  return status;
}

lb_io_status lb_checkpoint_commit(lb_checkpoint_writer *w, char *err, size_t err_len) {
  if (w == NULL) {
    return LB_IO_INVALID_ARGUMENT;
  }
  if (w->failed != LB_IO_OK) {
    lb_io_status status = w->failed;
    fail(err, err_len, w->path, "not written: adding a section failed");
    discard(w);
    return status;
  }
  uint8_t header[HEADER_BYTES];
  memcpy(header, magic, sizeof magic);
  put32(header + 8, LB_CHECKPOINT_VERSION);
  put32(header + 12, (uint32_t)w->count);
  put64(header + 16, HEADER_BYTES + w->body_bytes + TRAILER_BYTES);
  uint32_t crc = crc_update((uint32_t)crc32(0, Z_NULL, 0), header, sizeof header);
  crc = (uint32_t)crc32_combine64(crc, w->body_crc, (z_off64_t)w->body_bytes);
  uint8_t trailer[TRAILER_BYTES];
  put32(trailer, crc);
  memcpy(trailer + 4, end_mark, sizeof end_mark);

  lb_io_status status = LB_IO_OK;
  int fd = fileno(w->file);
  if (fwrite(trailer, 1, sizeof trailer, w->file) != sizeof trailer || fflush(w->file) != 0) {
    status = fail_system(err, err_len, w->temp_path, "write failed");
  } else if (pwrite(fd, header, sizeof header, 0) != (ssize_t)sizeof header) {
    status = fail_system(err, err_len, w->temp_path, "writing the header failed");
  } else if (fsync(fd) != 0) {
    status = fail_system(err, err_len, w->temp_path, "fsync failed");
  }
  int closed = fclose(w->file);
  w->file = NULL;
  if (status == LB_IO_OK && closed != 0) {
    status = fail_system(err, err_len, w->temp_path, "close failed");
  }
  if (status == LB_IO_OK && rename(w->temp_path, w->path) != 0) {
    status = fail_system(err, err_len, w->temp_path, "cannot rename over the checkpoint");
  }
  if (status != LB_IO_OK) {
    discard(w);
    return status;
  }
  status = sync_directory(w->path, err, err_len);
  free(w->temp_path);
  w->temp_path = NULL; /* renamed: nothing left to remove */
  discard(w);
  return status;
}

void lb_checkpoint_abort(lb_checkpoint_writer *w) {
  if (w != NULL) {
    discard(w);
  }
}

/* ---- reading ---- */

typedef struct section {
  const char *name; /* in the file's bytes: the name field is NUL-terminated by the checks */
  size_t offset, bytes;
} section;

struct lb_checkpoint_reader {
  char *path;
  uint8_t *data;
  size_t size;
  section *sections;
  size_t count;
};

static lb_io_status read_file(lb_checkpoint_reader *r, char *err, size_t err_len) {
  FILE *file = fopen(r->path, "rb");
  if (file == NULL) {
    return fail_system(err, err_len, r->path, "cannot open");
  }
  size_t capacity = 0;
  lb_io_status status = LB_IO_OK;
  for (;;) {
    if (r->size == capacity) {
      size_t grown = capacity == 0 ? (size_t)1 << 16 : capacity * 2;
      uint8_t *bigger = grown > capacity ? realloc(r->data, grown) : NULL;
      if (bigger == NULL) {
        status = LB_IO_OUT_OF_MEMORY;
        fail(err, err_len, r->path, "out of memory after %zu bytes", r->size);
        break;
      }
      r->data = bigger;
      capacity = grown;
    }
    size_t n = fread(r->data + r->size, 1, capacity - r->size, file);
    r->size += n;
    if (n == 0) {
      if (ferror(file)) {
        status = fail_system(err, err_len, r->path, "read error");
      }
      break;
    }
  }
  fclose(file);
  return status;
}

static int by_name(const void *a, const void *b) {
  return strcmp(((const section *)a)->name, ((const section *)b)->name);
}

static lb_io_status parse(lb_checkpoint_reader *r, char *err, size_t err_len) {
  const uint8_t *d = r->data;
  const size_t size = r->size;
  if (size < HEADER_BYTES + TRAILER_BYTES) {
    return fail(err, err_len, r->path, "truncated: %zu bytes, a checkpoint has at least %d", size,
                HEADER_BYTES + TRAILER_BYTES);
  }
  if (memcmp(d, magic, sizeof magic) != 0) {
    return fail(err, err_len, r->path, "not a lowbit checkpoint (bad magic)");
  }
  uint32_t version = get32(d + 8);
  if (version != LB_CHECKPOINT_VERSION) {
    return fail(err, err_len, r->path,
                "checkpoint version %" PRIu32 ", this build reads version %d", version,
                LB_CHECKPOINT_VERSION);
  }
  uint64_t length = get64(d + 16);
  if (length > size) {
    return fail(err, err_len, r->path, "truncated: %zu of the %" PRIu64 " bytes its header gives",
                size, length);
  }
  if (length < size) {
    return fail(err, err_len, r->path,
                "%" PRIu64 " bytes after the %" PRIu64 " bytes its header gives", size - length,
                length);
  }
  uint32_t stored = get32(d + size - TRAILER_BYTES);
  uint32_t computed = crc_update((uint32_t)crc32(0, Z_NULL, 0), d, size - TRAILER_BYTES);
  if (stored != computed || memcmp(d + size - 4, end_mark, sizeof end_mark) != 0) {
    return fail(err, err_len, r->path,
                "checksum mismatch (stored %08" PRIx32 ", computed %08" PRIx32 "): file corrupt",
                stored, computed);
  }
  /* A file that passes the CRC was written by a writer; what follows catches a writer's bug or a
   * forged CRC, and keeps every pointer handed out inside the file. */
  uint32_t count = get32(d + 12);
  const size_t end = size - TRAILER_BYTES;
  if (count > (end - HEADER_BYTES) / SECTION_HEADER_BYTES) {
    return fail(err, err_len, r->path, "%" PRIu32 " sections cannot fit in %zu bytes", count, size);
  }
  r->sections = calloc(count == 0 ? 1 : count, sizeof *r->sections);
  if (r->sections == NULL) {
    return LB_IO_OUT_OF_MEMORY;
  }
  size_t at = HEADER_BYTES;
  for (uint32_t i = 0; i < count; i++) {
    if (end - at < SECTION_HEADER_BYTES) {
      return fail(err, err_len, r->path, "section %" PRIu32 " starts past the end", i);
    }
    const char *name = (const char *)d + at;
    size_t length_of_name = strnlen(name, NAME_BYTES);
    int zero_padded = length_of_name < NAME_BYTES;
    for (size_t j = length_of_name; zero_padded && j < NAME_BYTES; j++) {
      zero_padded = name[j] == '\0';
    }
    if (!zero_padded || !valid_name(name)) {
      return fail(err, err_len, r->path, "section %" PRIu32 " has a malformed name", i);
    }
    uint64_t bytes = get64(d + at + NAME_BYTES);
    at += SECTION_HEADER_BYTES;
    if (bytes > end - at || padding(bytes) > end - at - bytes) {
      return fail(err, err_len, r->path, "section '%s' runs past the end", name);
    }
    r->sections[i] = (section){name, at, (size_t)bytes};
    at += (size_t)bytes;
    for (size_t j = 0; j < padding(bytes); j++) {
      if (d[at + j] != 0) {
        return fail(err, err_len, r->path, "section '%s' has nonzero padding", name);
      }
    }
    at += padding(bytes);
  }
  r->count = count;
  if (at != end) {
    return fail(err, err_len, r->path, "%zu bytes after the last section", end - at);
  }
  section *sorted = malloc((count == 0 ? 1 : count) * sizeof *sorted);
  if (sorted == NULL) {
    return LB_IO_OUT_OF_MEMORY;
  }
  memcpy(sorted, r->sections, count * sizeof *sorted);
  qsort(sorted, count, sizeof *sorted, by_name);
  for (uint32_t i = 1; i < count; i++) {
    if (strcmp(sorted[i - 1].name, sorted[i].name) == 0) {
      lb_io_status status = fail(err, err_len, r->path, "duplicate section '%s'", sorted[i].name);
      free(sorted);
      return status;
    }
  }
  free(sorted);
  return LB_IO_OK;
}

lb_io_status lb_checkpoint_open(const char *path, lb_checkpoint_reader **reader, char *err,
                                size_t err_len) {
  if (reader != NULL) {
    *reader = NULL;
  }
  if (path == NULL || reader == NULL) {
    return LB_IO_INVALID_ARGUMENT;
  }
  lb_checkpoint_reader *r = calloc(1, sizeof *r);
  if (r == NULL) {
    return LB_IO_OUT_OF_MEMORY;
  }
  r->path = concat(path, "");
  lb_io_status status = r->path == NULL ? LB_IO_OUT_OF_MEMORY : read_file(r, err, err_len);
  if (status == LB_IO_OK) {
    status = parse(r, err, err_len);
  }
  if (status != LB_IO_OK) {
    lb_checkpoint_close(r);
    return status;
  }
  *reader = r;
  return LB_IO_OK;
}

size_t lb_checkpoint_section_count(const lb_checkpoint_reader *r) {
  return r == NULL ? 0 : r->count;
}

const char *lb_checkpoint_section_name(const lb_checkpoint_reader *r, size_t i) {
  return r == NULL || i >= r->count ? NULL : r->sections[i].name;
}

lb_io_status lb_checkpoint_find(const lb_checkpoint_reader *r, const char *name, const void **data,
                                size_t *bytes, char *err, size_t err_len) {
  if (r == NULL || name == NULL || data == NULL || bytes == NULL) {
    return LB_IO_INVALID_ARGUMENT;
  }
  for (size_t i = 0; i < r->count; i++) {
    if (strcmp(r->sections[i].name, name) == 0) {
      *data = r->data + r->sections[i].offset;
      *bytes = r->sections[i].bytes;
      return LB_IO_OK;
    }
  }
  *data = NULL;
  *bytes = 0;
  return fail(err, err_len, r->path, "no section '%s'", name);
}

lb_io_status lb_checkpoint_read(const lb_checkpoint_reader *r, const char *name, void *out,
                                size_t bytes, char *err, size_t err_len) {
  if (out == NULL && bytes != 0) {
    return LB_IO_INVALID_ARGUMENT;
  }
  const void *data = NULL;
  size_t found = 0;
  lb_io_status status = lb_checkpoint_find(r, name, &data, &found, err, err_len);
  if (status != LB_IO_OK) {
    return status;
  }
  if (found != bytes) {
    return fail(err, err_len, r->path, "section '%s' holds %zu bytes, expected %zu", name, found,
                bytes);
  }
  if (bytes != 0) {
    memcpy(out, data, bytes);
  }
  return LB_IO_OK;
}

void lb_checkpoint_close(lb_checkpoint_reader *r) {
  if (r == NULL) {
    return;
  }
  free(r->sections);
  free(r->data);
  free(r->path);
  free(r);
}
