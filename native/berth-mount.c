/*
 * berth-mount: mount(2) and umount2(2) on request, for a long-lived berthd.
 *
 * Node has no binding for either syscall, and starting mount(8) or umount(8) costs 10-20 ms on
 * hosts where every process start is slow; every container start mounts its rootfs and every
 * exit unmounts it. berthd starts one of these and keeps it; it runs in berthd's mount namespace.
 *
 * Requests arrive on stdin as fields, each ended by a NUL byte:
 *   "mount" DIR TYPE SOURCE TARGET DATA   mount(SOURCE, TARGET, TYPE, 0, DATA) with DIR as the
 *                                         working directory (relative paths in DATA resolve there;
 *                                         "" keeps the current one)
 *   "umount" TARGET                       umount2(TARGET, 0)
 *   "detach" TARGET                       umount2(TARGET, MNT_DETACH)
 *   "netns" TARGET LO                     a new network namespace bind-mounted on the existing
 *                                         file TARGET (what `ip netns add` makes), its loopback
 *                                         brought up when LO is "1"; made by a forked child, so
 *                                         this process stays in its own namespace
 *   "spawn" ID DIR STDERR TIMEOUT-MS N ARG... M ENV...
 *                                         start ARG[0] as conmon is started: in its own session,
 *                                         in DIR, stdin and stdout on /dev/null, stderr into the
 *                                         file STDERR, a socketpair as fd 3 (_OCI_SYNCPIPE) and
 *                                         one as fd 4 (_OCI_STARTPIPE, released at once), with
 *                                         exactly the M environment entries given; then wait
 *                                         (at most TIMEOUT-MS) for the first line on fd 3
 *   "run" ID IN OUT ERR TIMEOUT-MS N ARG... M ENV...
 *                                         run ARG[0] to its end (a CNI plugin): stdin from the
 *                                         file IN, stdout and stderr into the files OUT and ERR,
 *                                         exactly the M environment entries given; killed after
 *                                         TIMEOUT-MS
 * Each answer is one line on stdout: "0" on success, else "<errno> <strerror>". Requests are
 * handled one at a time, in order, except spawn and run: their answer comes whenever it is
 * ready, as "@ID 0 <line>" or "@ID <errno> <text>" (spawn: errno 0 with an empty line when fd 3
 * closed without one; run: "@ID 0 <exit status>", 128+N for signal N), from a forked waiter, so
 * other requests go on meanwhile. Exits 0 at stdin's end, 2 on a malformed request.
 * (netns: starting unshare(1) and ip(8) for each container start cost 20-25 ms; spawn: a fork of
 * berthd copies the page tables of a 100+ MiB process, ~15 ms here, blocking its event loop.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Option strings of overlay mounts with many layers can be long; the kernel takes a page. */
#define FIELD_MAX 65536

/* Read one NUL-terminated field into buf; returns 1, 0 at a clean end of input, -1 on error. */
static int read_field(char *buf, size_t size) {
  size_t used = 0;
  for (;;) {
    int c = getchar();
    if (c == EOF) return used == 0 ? 0 : -1;
    if (c == '\0') {
      buf[used] = '\0';
      return 1;
    }
    if (used + 1 >= size) return -1;
    buf[used++] = (char) c;
  }
}

/* In a forked child: a new network namespace, lo up if asked, bound onto target. Exits with 0
 * or the errno of the step that failed; the mount namespace is still the parent's, so the bind
 * mount is visible to berthd and keeps the namespace alive after this child exits. */
static void make_netns_child(const char *target, int loopback_up) {
  if (unshare(CLONE_NEWNET) != 0) _exit(errno);
  if (loopback_up) {
    int sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq req;
    if (sock < 0) _exit(errno);
    memset(&req, 0, sizeof req);
    strncpy(req.ifr_name, "lo", IFNAMSIZ - 1);
    if (ioctl(sock, SIOCGIFFLAGS, &req) != 0) _exit(errno);
    req.ifr_flags |= IFF_UP;
    if (ioctl(sock, SIOCSIFFLAGS, &req) != 0) _exit(errno);
    close(sock);
  }
  if (mount("/proc/self/ns/net", target, NULL, MS_BIND, NULL) != 0) _exit(errno);
  _exit(0);
}

/* 0, or -1 with errno set from the child's report. */
static int make_netns(const char *target, int loopback_up) {
  pid_t child = fork();
  if (child < 0) return -1;
  if (child == 0) make_netns_child(target, loopback_up);
  int status;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return -1;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
  errno = WIFEXITED(status) ? WEXITSTATUS(status) : EINTR;
  return -1;
}

#define MAX_SPAWN_ITEMS 256
/* One answer line of a spawn, written whole (below PIPE_BUF, so answers never interleave). */
static void answer_spawn(const char *id, int err, const char *text) {
  char line[4000];
  int n = snprintf(line, sizeof line, "@%s %d %s", id, err, text);
  if (n < 0) return;
  if ((size_t) n >= sizeof line - 1) n = sizeof line - 2;
  for (int i = 0; i < n; i++)
    if (line[i] == '\n') line[i] = ' ';
  line[n] = '\n';
  if (write(STDOUT_FILENO, line, (size_t) n + 1) < 0) _exit(1);
}

/* In the waiter (a grandchild of the helper, so the helper never waits for it): start the
 * program and relay its first sync line. Never returns. */
static void spawn_and_wait(const char *id, const char *dir, const char *stderr_path, int timeout_ms, char **argv, char **envp) {
  int sync_pair[2], start_pair[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sync_pair) != 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, start_pair) != 0) {
    answer_spawn(id, errno, strerror(errno));
    _exit(0);
  }
  int err_fd = open(stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (err_fd < 0) {
    answer_spawn(id, errno, strerror(errno));
    _exit(0);
  }
  pid_t child = fork();
  if (child < 0) {
    answer_spawn(id, errno, strerror(errno));
    _exit(0);
  }
  if (child == 0) {
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd < 0 || setsid() < 0 || chdir(dir) != 0) _exit(127);
    /* dup2 clears FD_CLOEXEC on the copies, which are all the program keeps. */
    if (dup2(null_fd, 0) < 0 || dup2(null_fd, 1) < 0 || dup2(err_fd, 2) < 0 || dup2(sync_pair[1], 3) < 0 || dup2(start_pair[1], 4) < 0) _exit(127);
    execve(argv[0], argv, envp);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(sync_pair[1]);
  close(start_pair[1]);
  close(err_fd);
  /* A program that is already gone (it could not run, or exits at once) makes this write fail
   * with EPIPE: that must not kill the waiter before it answers. (Ignored only here, after the
   * fork: an ignored SIGPIPE would be inherited across exec.) Its sync pipe then reads EOF. */
  signal(SIGPIPE, SIG_IGN);
  if (write(start_pair[0], "0", 1) != 1 && errno != EPIPE) {
    answer_spawn(id, errno, strerror(errno));
    _exit(0);
  }
  char line[3900];
  size_t used = 0;
  for (;;) {
    struct pollfd wait_for = {.fd = sync_pair[0], .events = POLLIN};
    int ready = poll(&wait_for, 1, timeout_ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      answer_spawn(id, ETIMEDOUT, "no report in time");
      break;
    }
    ssize_t got = read(sync_pair[0], line + used, sizeof line - 1 - used);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) {
      answer_spawn(id, 0, "");
      break;
    }
    used += (size_t) got;
    line[used] = '\0';
    char *newline = strchr(line, '\n');
    if (newline || used == sizeof line - 1) {
      if (newline) *newline = '\0';
      answer_spawn(id, 0, line);
      break;
    }
  }
  /* The program's first process (conmon daemonizes) is reaped by init once this one is gone. */
  _exit(0);
}

/* In the waiter: run the program to its end (or TIMEOUT-MS) and answer its exit status. Never returns. */
static void run_and_wait(const char *id, const char *in_path, const char *out_path, const char *err_path, int timeout_ms, char **argv, char **envp) {
  int in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
  int out_fd = in_fd < 0 ? -1 : open(out_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  int err_fd = out_fd < 0 ? -1 : open(err_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (err_fd < 0) {
    answer_spawn(id, errno, strerror(errno));
    _exit(0);
  }
  /* SIGCHLD blocked before the fork, so sigtimedwait below cannot miss a quick exit. */
  sigset_t chld, before;
  sigemptyset(&chld);
  sigaddset(&chld, SIGCHLD);
  sigprocmask(SIG_BLOCK, &chld, &before);
  pid_t child = fork();
  if (child < 0) {
    answer_spawn(id, errno, strerror(errno));
    _exit(0);
  }
  if (child == 0) {
    sigprocmask(SIG_SETMASK, &before, NULL);
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0) _exit(127);
    execve(argv[0], argv, envp);
    dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(in_fd);
  close(out_fd);
  close(err_fd);
  struct timespec left = {.tv_sec = timeout_ms / 1000, .tv_nsec = (long) (timeout_ms % 1000) * 1000000L};
  for (;;) {
    int status = 0;
    pid_t done = waitpid(child, &status, WNOHANG);
    if (done == child) {
      char text[16];
      snprintf(text, sizeof text, "%d", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      answer_spawn(id, 0, text);
      _exit(0);
    }
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    if (sigtimedwait(&chld, NULL, &left) < 0 && errno == EAGAIN) break;
    clock_gettime(CLOCK_MONOTONIC, &end);
    long spent_ns = (end.tv_sec - start.tv_sec) * 1000000000L + (end.tv_nsec - start.tv_nsec);
    long left_ns = left.tv_sec * 1000000000L + left.tv_nsec - spent_ns;
    if (left_ns <= 0) break;
    left.tv_sec = left_ns / 1000000000L;
    left.tv_nsec = left_ns % 1000000000L;
  }
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  answer_spawn(id, ETIMEDOUT, "no exit in time");
  _exit(0);
}

static void answer(int rc) {
  if (rc == 0)
    printf("0\n");
  else
    printf("%d %s\n", errno, strerror(errno));
  fflush(stdout);
}

int main(void) {
  static char op[16], dir[FIELD_MAX], type[256], source[FIELD_MAX], target[FIELD_MAX], data[FIELD_MAX];
  int home = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (home < 0) {
    perror("berth-mount: open .");
    return 1;
  }
  for (;;) {
    int got = read_field(op, sizeof op);
    if (got == 0) return 0;
    if (got < 0) goto malformed;
    if (strcmp(op, "mount") == 0) {
      if (read_field(dir, sizeof dir) != 1 || read_field(type, sizeof type) != 1 || read_field(source, sizeof source) != 1 ||
          read_field(target, sizeof target) != 1 || read_field(data, sizeof data) != 1)
        goto malformed;
      if (dir[0] != '\0' && chdir(dir) != 0) {
        answer(-1);
        continue;
      }
      int rc = mount(source, target, type[0] ? type : NULL, 0, data[0] ? data : NULL);
      int saved = errno;
      if (dir[0] != '\0' && fchdir(home) != 0) {
        perror("berth-mount: fchdir");
        return 1;
      }
      errno = saved;
      answer(rc);
    } else if (strcmp(op, "spawn") == 0 || strcmp(op, "run") == 0) {
      int is_run = strcmp(op, "run") == 0;
      static char id[64], count[16], timeout[16], in_path[FIELD_MAX], out_path[FIELD_MAX];
      static char *argv[MAX_SPAWN_ITEMS + 1], *envp[MAX_SPAWN_ITEMS + 1];
      /* spawn: DIR STDERR; run: IN OUT ERR. */
      if (read_field(id, sizeof id) != 1) goto malformed;
      if (is_run && (read_field(in_path, sizeof in_path) != 1 || read_field(out_path, sizeof out_path) != 1)) goto malformed;
      if (!is_run && read_field(dir, sizeof dir) != 1) goto malformed;
      if (read_field(target, sizeof target) != 1 || read_field(timeout, sizeof timeout) != 1) goto malformed;
      char **lists[2] = {argv, envp};
      for (int list = 0; list < 2; list++) {
        if (read_field(count, sizeof count) != 1) goto malformed;
        int n = atoi(count);
        if (n < 0 || n > MAX_SPAWN_ITEMS || (list == 0 && n == 0)) goto malformed;
        for (int i = 0; i < n; i++) {
          if (read_field(data, sizeof data) != 1) goto malformed;
          lists[list][i] = strdup(data);
          if (!lists[list][i]) goto malformed;
        }
        lists[list][n] = NULL;
      }
      /* Two forks: the waiter is orphaned at once and the helper reaps only the short-lived middle. */
      pid_t middle = fork();
      if (middle == 0) {
        pid_t waiter = fork();
        if (waiter == 0 && is_run) run_and_wait(id, in_path, out_path, target, atoi(timeout), argv, envp);
        if (waiter == 0) spawn_and_wait(id, dir, target, atoi(timeout), argv, envp);
        _exit(waiter < 0 ? 1 : 0);
      }
      int status = 0;
      if (middle < 0 || waitpid(middle, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) answer_spawn(id, EAGAIN, "cannot fork");
      for (int list = 0; list < 2; list++)
        for (char **item = lists[list]; *item; item++) free(*item);
    } else if (strcmp(op, "netns") == 0) {
      if (read_field(target, sizeof target) != 1 || read_field(data, sizeof data) != 1) goto malformed;
      answer(make_netns(target, strcmp(data, "1") == 0));
    } else if (strcmp(op, "umount") == 0 || strcmp(op, "detach") == 0) {
      if (read_field(target, sizeof target) != 1) goto malformed;
      answer(umount2(target, strcmp(op, "detach") == 0 ? MNT_DETACH : 0));
    } else {
      goto malformed;
    }
  }
malformed:
  fprintf(stderr, "berth-mount: malformed request\n");
  return 2;
}
