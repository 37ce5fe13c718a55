/* libFuzzer harness of the IDX dataset reader (runtime/train/src/idx.c). The input is
 *   byte 0  bit 0: the two files are the bytes as given (gzip streams, to fuzz zlib's side);
 *           clear: the bytes are IDX data that the harness gzips (to fuzz the IDX parse)
 *           bit 1: keep at most (byte 1 & 7) + 1 examples, else all
 *   byte 2  classes - 1
 *   3..4    length of the images file's bytes (little-endian, cut to what follows)
 *   then the images file's bytes and the labels file's bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_files.h"
#include "lowbit/train_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 5) {
    return 0;
  }
  int raw = data[0] & 1;
  lb_idx_spec spec = {0, 0, (unsigned)data[2] + 1, data[0] & 2 ? (size_t)(data[1] & 7) + 1 : 0};
  size_t images = (size_t)data[3] | (size_t)data[4] << 8;
  data += 5, size -= 5;
  if (images > size) {
    images = size;
  }
  const char *images_path = lb_fuzz_path("images.gz"), *labels_path = lb_fuzz_path("labels.gz");
  lb_fuzz_write(images_path, data, images, !raw);
  lb_fuzz_write(labels_path, data + images, size - images, !raw);
  lb_idx_dataset dataset;
  char err[LB_IO_ERROR_LEN] = "";
  lb_io_status status =
      lb_idx_dataset_load(images_path, labels_path, &spec, &dataset, err, sizeof err);
  if (status == LB_IO_OK) {
    /* What the loader promises: the examples it kept, every label below classes. */
    size_t pixels = (size_t)dataset.rows * dataset.cols;
    if (dataset.count == 0 || (spec.max_count && dataset.count > spec.max_count)) {
      abort();
    }
    unsigned sum = 0;
    for (size_t i = 0; i < dataset.count; i++) {
      if (dataset.labels[i] >= spec.classes) {
        abort();
      }
      sum += dataset.images[i * pixels + pixels - 1];
    }
    (void)sum;
  } else if (!strstr(err, "images.gz") && !strstr(err, "labels.gz")) {
    abort(); /* an error that does not name its file */
  } else if (dataset.images || dataset.labels || dataset.count) {
    abort();
  }
  lb_idx_dataset_free(&dataset);
  return 0;
}
