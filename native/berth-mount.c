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
 * Each answer is one line on stdout: "0" on success, else "<errno> <strerror>". Requests are
 * handled one at a time, in order. Exits 0 at stdin's end, 2 on a malformed request.
 * (netns: starting unshare(1) and ip(8) for each container start cost 20-25 ms.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/wait.h>
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
