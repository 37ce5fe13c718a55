/* The kernels' precondition asserts are live in this build: each kernel whose ISA this CPU has,
 * called through the micro-kernel ABI with no rows to compute (mr = 0, rows = 0), must abort.
 * ctest registers this only where the configuration keeps asserts (LOWBIT_ASSERTS or a build type
 * without -DNDEBUG), so a flag that compiles them out again fails here. */
/* fork() and waitpid() are POSIX, not C11. */
#define _POSIX_C_SOURCE 200809L

#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lowbit/lowbit.h"

/* Zeroed panels and C larger than one K block of any kernel: 16 planes x 16 rows x 256 bits. */
static uint64_t panel[16 * 16 * 4];
static int64_t c[16 * 64];

typedef void (*violation_fn)(const lb_gemm_kernel_info *kernel);

static void ukernel_without_rows(const lb_gemm_kernel_info *kernel) {
  static const int64_t coef[1] = {1};
  const lb_gemm_ukernel_args args = {1, 1, coef, 1, 1, 0};
  kernel->ukernel(0, kernel->nr, 1, panel, panel, c, kernel->nr, &args);
}

static const lb_pack_args pack_args = {1, 0, 0, 0, 1};
static const uint8_t source[1];

static void pack_a_without_rows(const lb_gemm_kernel_info *kernel) {
  kernel->pack_a(0, 1, source, 1, panel, NULL, &pack_args);
}

static void pack_w_without_rows(const lb_gemm_kernel_info *kernel) {
  kernel->pack_w(0, 1, source, 1, panel, NULL, &pack_args);
}

/* 1 when `violation` aborts a child process. */
static int aborts(const lb_gemm_kernel_info *kernel, violation_fn violation, const char *what) {
  fflush(NULL); /* or the child would print this process's buffered output again */
  const pid_t child = fork();
  if (child < 0) {
    perror("fork");
    return 0;
  }
  if (child == 0) {
    violation(kernel);
    _exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) != child) {
    perror("waitpid");
    return 0;
  }
  if (WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT) {
    return 1;
  }
  if (WIFSIGNALED(status)) {
    fprintf(stderr, "FAIL %s %s: signal %d instead of an assert\n", kernel->name, what,
            WTERMSIG(status));
  } else {
    fprintf(stderr, "FAIL %s %s: returned (status %d): its assert is compiled out\n", kernel->name,
            what, WEXITSTATUS(status));
  }
  return 0;
}

#ifdef NDEBUG
#define ASSERTS_LIVE 0
#else
#define ASSERTS_LIVE 1
#endif

int main(void) {
  if (!ASSERTS_LIVE) {
    fprintf(stderr, "FAIL this test is built with NDEBUG: asserts are compiled out\n");
    return 1;
  }
  printf("cpu: %s\n", lb_cpu_description());
  size_t aborted = 0, failed = 0;
  for (size_t i = 0; i < lb_gemm_kernel_count(); i++) {
    const lb_gemm_kernel_info *kernel = lb_gemm_kernel_at(i);
    if (!lb_cpu_has_isa(kernel->isa)) {
      printf("skipped %s: this CPU lacks %s\n", kernel->name, kernel->isa);
      continue;
    }
    int ok = aborts(kernel, ukernel_without_rows, "with mr = 0");
    ok &= aborts(kernel, pack_a_without_rows, "pack_a with rows = 0");
    ok &= aborts(kernel, pack_w_without_rows, "pack_w with rows = 0");
    printf("%-48s %s\n", kernel->name, ok ? "asserts live" : "FAILED");
    if (ok) {
      aborted++;
    } else {
      failed++;
    }
  }
  printf("%zu kernels assert their preconditions, %zu do not\n", aborted, failed);
  return failed == 0 && aborted > 0 ? 0 : 1;
}
