/*
 * berth-agent: The channel to the host: writing frames (and the agent's log lines on the console).
 */
#define _GNU_SOURCE
#include "agent.h"

int chan = -1;

void logmsg(const char *fmt, ...) {
  /* The console (hvc0) ends up in the VM's console log on the host. */
  va_list ap;
  va_start(ap, fmt);
  fputs("berth-agent: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

static void put32(unsigned char *p, uint32_t v) {
  p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}
uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

int write_all(int fd, const void *buf, size_t len) {
  const char *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == EAGAIN) { struct pollfd w = { fd, POLLOUT, 0 }; poll(&w, 1, 100); continue; }
      return -1;
    }
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

void send_frame(int type, uint32_t session, const void *payload, uint32_t len) {
  unsigned char header[HEADER] = { 0 };
  header[0] = (unsigned char)type;
  put32(header + 4, session);
  put32(header + 8, len);
  if (write_all(chan, header, HEADER) < 0 || (len > 0 && write_all(chan, payload, len) < 0)) {
    logmsg("channel write failed: %s", strerror(errno));
  }
}

void send_u32(int type, uint32_t session, uint32_t value) {
  unsigned char b[4];
  put32(b, value);
  send_frame(type, session, b, 4);
}

void send_error(uint32_t session, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  send_frame(F_ERROR, session, msg, (uint32_t)strlen(msg));
}
