/*
 * berth-agent: PID 1 inside each Berth microVM. Mounts the container's root (a 9p share from the
 * host), runs the container's process and exec sessions in it, and relays their stdio, signals,
 * resizes and exit codes over one framed channel on a virtio-serial port. The wire format is
 * guest/agent/PROTOCOL.md; keep the two in step. Single-threaded: one poll loop over the channel,
 * the sessions' pipes and a signalfd.
 */
#define _GNU_SOURCE
#include "agent.h"

static void power_off(void) {
  kill(-1, SIGKILL);
  sync();
  reboot(RB_AUTOBOOT);
  /* reboot=t makes that a triple fault, which QEMU's -no-reboot turns into an exit. */
  for (;;) pause();
}

static void handle_frame(int type, uint32_t id, unsigned char *payload, uint32_t len) {
  struct session *s = find_session(id);
  switch (type) {
  case F_START:
    start_session(id, (char *)payload, len, 1);
    break;
  case F_EXEC:
    if (!is_root_mounted) { send_error(id, "the container is not running"); send_u32(F_EXIT, id, 126); break; }
    start_session(id, (char *)payload, len, 0);
    break;
  case F_STDIN:
    if (s) queue_stdin(s, payload, len);
    break;
  case F_STDIN_CLOSE:
    /* After every byte before it. */
    if (s) {
      s->is_stdin_closing = 1;
      flush_stdin(s);
    }
    break;
  case F_WINDOW:
    if (s && len >= 4) {
      uint32_t n = get32(payload);
      s->output_unacked = n > s->output_unacked ? 0 : s->output_unacked - n;
    }
    break;
  case F_SIGNAL:
    if (s && len >= 4) kill(s->pid, (int)get32(payload));
    break;
  case F_RESIZE:
    if (s && s->is_tty && len >= 4) {
      struct winsize ws = { .ws_row = (unsigned short)((payload[0] << 8) | payload[1]), .ws_col = (unsigned short)((payload[2] << 8) | payload[3]) };
      ioctl(s->out, TIOCSWINSZ, &ws);
    }
    break;
  case F_POWEROFF:
    power_off();
    break;
  case F_PS:
    send_process_list(id);
    break;
  case F_HELLO:
    /* A host that did not see our READY (it restored this guest from a template) asks again;
     * the root share is this clone's own now, so it is mounted meanwhile, as after a cold boot. */
    send_frame(F_READY, 0, NULL, 0);
    mount_root();
    break;
  default:
    break;
  }
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

int main(void) {
  mount_or_log("proc", "/proc", "proc", 0, NULL);
  mount_or_log("sysfs", "/sys", "sysfs", 0, NULL);
  mount_or_log("devtmpfs", "/dev", "devtmpfs", 0, NULL);
  { extern int load_guest_modules(void); load_guest_modules(); } /* berth h-kernel: guest/agent/modules.c (prebuilt kernels) */
  /* Without /dev/console in the initramfs the kernel gives init no stdio: take the console
   * now, so that fds 0-2 are never the channel and our messages reach hvc0. */
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) < 0) {
      int c = open("/dev/console", O_RDWR);
      if (c >= 0 && c != fd) { dup2(c, fd); close(c); }
    }
  }
  setenv("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", 1);

  /* berth-vm's accelerator probe only asks whether the guest gets this far. */
  char cmdline[4096] = "";
  int cfd = open("/proc/cmdline", O_RDONLY | O_CLOEXEC);
  if (cfd >= 0) {
    ssize_t n = read(cfd, cmdline, sizeof cmdline - 1);
    if (n > 0) cmdline[n] = '\0';
    close(cfd);
  }
  if (strstr(cmdline, "berth.probe")) power_off();
  bring_up_loopback();

  /* The port's device node can appear a moment after init starts. */
  for (int tries = 0; tries < 500 && chan < 0; tries++) {
    chan = open(CHANNEL, O_RDWR | O_CLOEXEC);
    if (chan < 0) usleep(10000);
  }
  if (chan < 0) { logmsg("cannot open %s: %s", CHANNEL, strerror(errno)); power_off(); }

  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGCHLD);
  sigprocmask(SIG_BLOCK, &mask, NULL);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);

  send_frame(F_READY, 0, NULL, 0);
  /* The host takes a while to send START (create returns, the engine runs start): mount the
   * container's root meanwhile, off the start's path. A failure is retried, and reported, then.
   * Not in a template (berth.template): QEMU cannot save a guest with a 9p share mounted, and
   * each clone's root is another directory; its START mounts it. */
  if (!strstr(cmdline, "berth.template")) mount_root();

  static unsigned char buf[HEADER + MAX_PAYLOAD + 16384];
  size_t have = 0;
  long poweroff_deadline = 0;
  for (;;) {
    struct pollfd fds[2 + 2 * MAX_SESSIONS];
    struct session *owner[2 + 2 * MAX_SESSIONS];
    int kinds[2 + 2 * MAX_SESSIONS];
    int nfds = 0;
    fds[nfds].fd = chan; fds[nfds].events = POLLIN; owner[nfds] = NULL; kinds[nfds++] = 0;
    fds[nfds].fd = sfd; fds[nfds].events = POLLIN; owner[nfds] = NULL; kinds[nfds++] = 0;
    for (int i = 0; i < MAX_SESSIONS; i++) {
      struct session *s = &sessions[i];
      if (!s->used) continue;
      /* Output only while the host's window is open; stdin only while bytes wait for it. */
      int is_window_open = s->output_unacked < STREAM_WINDOW_BYTES;
      if (s->out >= 0 && is_window_open) { fds[nfds].fd = s->out; fds[nfds].events = POLLIN; owner[nfds] = s; kinds[nfds++] = F_STDOUT; }
      if (s->err >= 0 && is_window_open) { fds[nfds].fd = s->err; fds[nfds].events = POLLIN; owner[nfds] = s; kinds[nfds++] = F_STDERR; }
      if (s->in >= 0 && s->stdin_queued > 0) { fds[nfds].fd = s->in; fds[nfds].events = POLLOUT; owner[nfds] = s; kinds[nfds++] = F_STDIN; }
    }
    int timeout = -1;
    if (is_main_done) {
      if (!poweroff_deadline) poweroff_deadline = now_ms() + 2000;
      timeout = (int)(poweroff_deadline - now_ms());
      if (timeout <= 0) power_off();
    }
    int ready = poll(fds, (nfds_t)nfds, timeout);
    if (ready < 0 && errno != EINTR) { logmsg("poll: %s", strerror(errno)); power_off(); }
    if (ready <= 0) continue;

    if (fds[1].revents & POLLIN) {
      struct signalfd_siginfo info;
      while (read(sfd, &info, sizeof info) == sizeof info) {}
      reap();
    }
    for (int i = 2; i < nfds; i++) {
      struct session *s = owner[i];
      if (!s || !s->used || !(fds[i].revents & (POLLIN | POLLOUT | POLLHUP | POLLERR))) continue;
      if (kinds[i] == F_STDIN) {
        if (s->in == fds[i].fd) flush_stdin(s);
        continue;
      }
      int *fd = kinds[i] == F_STDOUT ? &s->out : &s->err;
      if (*fd == fds[i].fd) pump(s, fd, kinds[i], 0);
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = read(chan, buf + have, sizeof buf - have);
      if (n < 0 && errno != EINTR && errno != EAGAIN) { logmsg("channel read: %s", strerror(errno)); power_off(); }
      if (n == 0) {
        /* The host went away (virtio-serial gives EOF while no one is connected): wait for it. */
        usleep(10000);
        continue;
      }
      if (n > 0) have += (size_t)n;
      size_t at = 0;
      while (have - at >= HEADER) {
        uint32_t len = get32(buf + at + 8);
        if (len > MAX_PAYLOAD) { logmsg("frame too long (%u)", len); power_off(); }
        if (have - at < HEADER + len) break;
        unsigned char *frame = buf + at;
        /* Payload strings are parsed in place; the byte after a payload is ours to use. */
        handle_frame(frame[0], get32(frame + 4), frame + HEADER, len);
        at += HEADER + len;
      }
      memmove(buf, buf + at, have - at);
      have -= at;
    }
  }
}
