#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../util.h"

volatile int tune_interrupted = 0;

static void on_interrupt(int signal_number) {
  (void)signal_number;
  tune_interrupted = 1;
}

void tune_catch_interrupts(void) {
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = on_interrupt;
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, NULL);
  sigaction(SIGTERM, &action, NULL);
}

static int exit_status(int wait_status) {
  return WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : -1;
}

int tune_run(char *const argv[], char *const env[], const char *log_path, char **output) {
  int out_pipe[2] = {-1, -1};
  if (output && pipe(out_pipe) != 0) {
    return -1;
  }
  const int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log < 0) {
    return -1;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(output ? out_pipe[1] : log, STDOUT_FILENO);
    dup2(log, STDERR_FILENO);
    for (size_t i = 0; env && env[i]; i++) {
      char *equals = strchr(env[i], '=');
      if (equals) {
        *equals = '\0';
        setenv(env[i], equals + 1, 1);
      }
    }
    execvp(argv[0], argv);
    fprintf(stderr, "lowbit-tune: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(log);
  if (pid < 0) {
    return -1;
  }
  if (output) {
    close(out_pipe[1]);
    lb_gen_buf buf = {0};
    lb_gen_buf_puts(&buf, "");
    char chunk[4096];
    ssize_t got;
    while ((got = read(out_pipe[0], chunk, sizeof chunk)) > 0 || (got < 0 && errno == EINTR)) {
      if (got > 0) {
        lb_gen_buf_append(&buf, chunk, (size_t)got);
      }
    }
    close(out_pipe[0]);
    *output = buf.data;
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return -1;
    }
  }
  return exit_status(status);
}

void tune_pool(size_t count, size_t jobs, tune_task task, void *items, size_t item_size,
               int *statuses) {
  pid_t *pids = lb_gen_alloc((count ? count : 1) * sizeof *pids);
  size_t started = 0, running = 0;
  fflush(NULL);
  while (started < count || running > 0) {
    if (started < count && running < jobs) {
      const pid_t pid = fork();
      if (pid == 0) {
        _exit(task((char *)items + started * item_size));
      }
      pids[started] = pid;
      statuses[started] = -1;
      running += pid > 0;
      started++;
      continue;
    }
    int status;
    const pid_t done = wait(&status);
    if (done < 0) {
      if (errno == EINTR) {
        continue;
      }
      break;
    }
    for (size_t i = 0; i < started; i++) {
      if (pids[i] == done) {
        statuses[i] = exit_status(status);
        running--;
      }
    }
  }
  lb_gen_free(pids);
}
