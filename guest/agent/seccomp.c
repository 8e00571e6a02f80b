/*
 * berth-agent: The container's seccomp filter (START's `seccomp=<flags hex>/<program base64>`):
 * a BPF program the host compiled from the spec with libseccomp (native/berth-seccomp.c). Kept
 * from START and installed for the container's process and for every exec session, as runc and
 * crun do.
 */
#define _GNU_SOURCE
#include "agent.h"
#include <linux/filter.h>
#include <linux/seccomp.h>

static struct sock_filter *filter;
static unsigned short filter_len;
static unsigned long filter_flags;

static int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

/* Decode START's field into the filter every session gets. Returns -1 with errno set (EINVAL:
 * malformed, not a whole program or longer than the kernel takes). */
int keep_seccomp(const char *value) {
  char *end;
  unsigned long flags = strtoul(value, &end, 16);
  if (*end != '/') { errno = EINVAL; return -1; }
  const char *b64 = end + 1;
  size_t len = strlen(b64);
  unsigned char *bytes = malloc(len / 4 * 3 + 3);
  if (!bytes) return -1;
  size_t n = 0;
  unsigned bits = 0;
  int nbits = 0;
  for (size_t i = 0; i < len && b64[i] != '='; i++) {
    int v = base64_value(b64[i]);
    if (v < 0) { free(bytes); errno = EINVAL; return -1; }
    bits = (bits << 6) | (unsigned)v;
    nbits += 6;
    if (nbits >= 8) { nbits -= 8; bytes[n++] = (unsigned char)(bits >> nbits); }
  }
  if (n == 0 || n % sizeof(struct sock_filter) != 0 || n / sizeof(struct sock_filter) > BPF_MAXINSNS) {
    free(bytes);
    errno = EINVAL;
    return -1;
  }
  free(filter);
  filter = (struct sock_filter *)bytes;
  filter_len = (unsigned short)(n / sizeof(struct sock_filter));
  filter_flags = flags;
  return 0;
}

/* In a session's child: install the kept filter (none kept: nothing to do). Without
 * no_new_privs the caller must still hold CAP_SYS_ADMIN. Returns -1 with errno set. */
int install_seccomp(void) {
  if (!filter) return 0;
  struct sock_fprog prog = { .len = filter_len, .filter = filter };
  return (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, filter_flags, &prog);
}
