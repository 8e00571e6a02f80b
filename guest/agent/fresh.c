/*
 * berth-agent: What every container's guest gets fresh at START, before anything of the
 * container runs: the host's random bytes mixed into the kernel's RNG and a reseed of it, and the
 * wall clock. A guest restored from a booted template (docs/vm.md) carries the template's RNG
 * state and its clock from when the template was saved; without this, two clones would draw the
 * same "random" bytes. A cold boot gets the same, so its RNG is ready at once.
 */
#define _GNU_SOURCE
#include "agent.h"
#include <linux/random.h>

static int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* `seed=<hex>`: credited as full entropy (the host's getrandom), then the CRNG reseeded so
 * every per-CPU generator rekeys from the mixed pool. Returns -1 with errno set. */
int apply_seed(const char *hex) {
  size_t len = strlen(hex) / 2;
  if (len == 0 || len > 256) { errno = EINVAL; return -1; }
  /* rand_pool_info ends in a flexible array of the bytes: room for 256 after it. */
  union { struct rand_pool_info info; unsigned char raw[sizeof(struct rand_pool_info) + 256]; } pool;
  memset(&pool, 0, sizeof pool);
  unsigned char *bytes = pool.raw + sizeof(struct rand_pool_info);
  for (size_t i = 0; i < len; i++) {
    int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) { errno = EINVAL; return -1; }
    bytes[i] = (unsigned char)(hi << 4 | lo);
  }
  pool.info.entropy_count = (int)(len * 8);
  pool.info.buf_size = (int)len;
  int fd = open("/dev/urandom", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  int rc = ioctl(fd, RNDADDENTROPY, &pool.info);
  if (rc == 0) rc = ioctl(fd, RNDRESEEDCRNG);
  int saved = errno;
  close(fd);
  explicit_bzero(&pool, sizeof pool);
  errno = saved;
  return rc;
}

/* `time=<seconds>.<nanoseconds>`: the host's wall clock when it sent START. */
int apply_time(const char *value) {
  struct timespec ts = { 0 };
  char *end;
  ts.tv_sec = (time_t)strtoll(value, &end, 10);
  if (*end == '.') ts.tv_nsec = strtol(end + 1, &end, 10);
  if (*end || ts.tv_sec <= 0 || ts.tv_nsec < 0 || ts.tv_nsec >= 1000000000L) { errno = EINVAL; return -1; }
  return clock_settime(CLOCK_REALTIME, &ts);
}
