/* libFuzzer harness of the checkpoint reader (runtime/train/src/checkpoint.c). The input is a
 * byte of flags, then the file. Flag bit 0 asks the harness to make the file's length field, CRC
 * and end mark right before writing it, so that mutations reach the section parse behind the CRC
 * (a file with a wrong CRC stops at the check). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "fuzz_files.h"
#include "lowbit/train_io.h"

#define HEADER_BYTES 24
#define TRAILER_BYTES 8

static void put_le(uint8_t *p, uint64_t v, int bytes) {
  for (int i = 0; i < bytes; i++) {
    p[i] = (uint8_t)(v >> 8 * i);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) {
    return 0;
  }
  int seal = data[0] & 1;
  uint8_t *file = malloc(size);
  if (!file) {
    return 0;
  }
  size--;
  memcpy(file, data + 1, size);
  if (seal && size >= HEADER_BYTES + TRAILER_BYTES) {
    put_le(file + 16, size, 8);
    uLong crc = crc32(0, Z_NULL, 0);
    crc = crc32(crc, file, (uInt)(size - TRAILER_BYTES));
    put_le(file + size - TRAILER_BYTES, crc, 4);
    memcpy(file + size - 4, "LBCE", 4);
  }
  const char *path = lb_fuzz_path("fuzz.ckpt");
  lb_fuzz_write(path, file, size, 0);
  free(file);
  lb_checkpoint_reader *reader;
  char err[LB_IO_ERROR_LEN] = "";
  lb_io_status status = lb_checkpoint_open(path, &reader, err, sizeof err);
  if (status == LB_IO_OK) {
    /* Every section the reader lists can be found and copied out at its size. */
    for (size_t i = 0; i < lb_checkpoint_section_count(reader); i++) {
      const char *name = lb_checkpoint_section_name(reader, i);
      const void *bytes;
      size_t length;
      if (lb_checkpoint_find(reader, name, &bytes, &length, err, sizeof err) != LB_IO_OK ||
          ((uintptr_t)bytes & 7) != 0) {
        abort();
      }
      void *copy = malloc(length ? length : 1);
      if (copy && lb_checkpoint_read(reader, name, copy, length, err, sizeof err) != LB_IO_OK) {
        abort();
      }
      free(copy);
    }
    lb_checkpoint_close(reader);
  } else if (reader || !strstr(err, "fuzz.ckpt")) {
    abort();
  }
  return 0;
}
