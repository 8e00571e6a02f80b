/*
 * berth-agent: Sessions: the container's process (session 0) and exec sessions, their stdio pumped
 * as frames with per-session flow control (PROTOCOL.md), and their exits.
 */
#define _GNU_SOURCE
#include "agent.h"

struct session sessions[MAX_SESSIONS];
int is_main_done;

struct session *find_session(uint32_t id) {
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].id == id) return &sessions[i];
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

void start_session(uint32_t id, char *payload, uint32_t len, int is_main) {
  static struct spec s; /* large (every field a frame can hold), so not on the stack */
  if (find_session(id)) { send_error(id, "session %u exists", id); send_u32(F_EXIT, id, 126); return; }
  if (parse_spec(payload, len, &s) < 0) { send_error(id, "malformed process spec"); send_u32(F_EXIT, id, 126); return; }
  struct session *slot = NULL;
  for (int i = 0; i < MAX_SESSIONS && !slot; i++) if (!sessions[i].used) slot = &sessions[i];
  if (!slot) { send_error(id, "too many sessions"); send_u32(F_EXIT, id, 126); return; }
  /* Before anything of the container runs (a clone of a template shares its RNG state and clock until now). */
  if (is_main && s.seed && apply_seed(s.seed) < 0) { send_error(id, "cannot seed the guest's random number generator: %s", strerror(errno)); send_u32(F_EXIT, id, 126); return; }
  if (is_main && s.time && apply_time(s.time) < 0) { send_error(id, "cannot set the guest's clock: %s", strerror(errno)); send_u32(F_EXIT, id, 126); return; }
  if (is_main && s.seccomp && keep_seccomp(s.seccomp) < 0) { send_error(id, "cannot load the container's seccomp filter: %s", strerror(errno)); send_u32(F_EXIT, id, 126); return; }
  /* An exec joins the main process's namespaces: it must still run. */
  if (!is_main) {
    struct session *main_session = find_session(0);
    if (!main_session || main_session->has_exited || !can_exec_in_container()) { send_error(id, "the container is not running"); send_u32(F_EXIT, id, 126); return; }
  }
  if (mount_root() < 0) { send_error(id, "cannot mount the container root: %s", strerror(errno)); send_u32(F_EXIT, id, 126); return; }
  if (is_main && s.host && s.host[0]) sethostname(s.host, strlen(s.host));
  for (int i = 0; is_main && i < s.nmounts; i++) {
    const char *what = "";
    if ((s.is_tmpfs[i] ? mount_tmpfs(s.mounts[i], &what) : mount_user(s.mounts[i], &what)) < 0) {
      send_error(id, "error mounting \"%s\" in the VM: %s", what, strerror(errno));
      send_u32(F_EXIT, id, 126);
      return;
    }
  }

  /* The masked and read-only paths are the main process's to make (spawn.c): they lie on the
   * /proc of its PID namespace. */

  /* --read-only: as crun, the root's own mount turns read-only once everything is mounted on it
   * (per mount point: the volumes and tmpfs mounts on it stay writable). */
  if (is_main && s.is_root_readonly && mount(NULL, ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
    send_error(id, "cannot make the container root read-only: %s", strerror(errno));
    send_u32(F_EXIT, id, 126);
    return;
  }

  if (is_main && s.nifaces > 0) {
    const char *what = "";
    if (configure_network(&s, &what) < 0) {
      send_error(id, "error configuring the network (%s) in the VM: %s", what, strerror(errno));
      send_u32(F_EXIT, id, 126);
      return;
    }
  }

  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, report[2];
  int master = -1;
  if (s.is_tty) {
    /* The container's own devpts instance: /dev/ptmx of the agent's devtmpfs has no devpts beside it. */
    master = open(ROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || unlockpt(master) < 0) {
      send_error(id, "cannot open a pty: %s", strerror(errno)); send_u32(F_EXIT, id, 126);
      if (master >= 0) close(master);
      return;
    }
  } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    send_error(id, "pipe: %s", strerror(errno)); send_u32(F_EXIT, id, 126);
    return;
  }
  /* The child's report: a socket, so the main process can hand over its mount namespace. */
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, report) < 0) { send_error(id, "socketpair: %s", strerror(errno)); send_u32(F_EXIT, id, 126); return; }

  pid_t pid = fork_into_container(is_main);
  if (pid == 0) {
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    setsid();
    if (s.is_tty) {
      /* Through the master, not by name: the name is only valid inside the container's root. */
      int slave = ioctl(master, TIOCGPTPEER, O_RDWR);
      if (slave < 0) _exit(126);
      ioctl(slave, TIOCSCTTY, 0);
      dup2(slave, 0); dup2(slave, 1); dup2(slave, 2);
      if (slave > 2) close(slave);
    } else {
      dup2(in[0], 0); dup2(out[1], 1); dup2(err[1], 2);
    }
    exec_child(&s, is_main, report[1]);
  }
  close(report[1]);
  if (pid < 0) {
    send_error(id, "fork: %s", strerror(errno)); send_u32(F_EXIT, id, 126);
    close(report[0]);
    return;
  }
  memset(slot, 0, sizeof *slot);
  slot->used = 1;
  slot->id = id;
  slot->pid = pid;
  slot->is_tty = s.is_tty;
  if (s.is_tty) {
    slot->in = slot->out = master;
    slot->err = -1;
  } else {
    close(in[0]); close(out[1]); close(err[1]);
    slot->in = in[1]; slot->out = out[0]; slot->err = err[0];
  }
  /* Never blocked by one process: a full stdin pipe queues (up to a window), an empty output
   * pipe just has nothing to send. */
  fcntl(slot->in, F_SETFL, O_NONBLOCK);
  fcntl(slot->out, F_SETFL, O_NONBLOCK);
  if (slot->err >= 0) fcntl(slot->err, F_SETFL, O_NONBLOCK);
  /* EOF on the report socket means exec succeeded (it is close-on-exec). */
  char msg[600];
  ssize_t n = read_child_report(report[0], msg, sizeof msg);
  close(report[0]);
  if (n > 0) {
    char *space = strchr(msg, ' ');
    send_error(id, "%s", space ? space + 1 : msg);
  } else {
    send_frame(F_STARTED, id, NULL, 0);
  }
}

/* Reads what is buffered in fd without blocking and sends it; returns 0 at EOF or error.
 * While the process runs, no more than the host's window is read (is_drain: after it exited,
 * everything left in the pipe goes, window or not). */
int pump(struct session *s, int *fd, int type, int is_drain) {
  char buf[16384];
  for (;;) {
    size_t room = sizeof buf;
    if (!is_drain) {
      if (s->output_unacked >= STREAM_WINDOW_BYTES) return 1;
      if (STREAM_WINDOW_BYTES - s->output_unacked < room) room = STREAM_WINDOW_BYTES - s->output_unacked;
    }
    ssize_t n = read(*fd, buf, room);
    if (n > 0) {
      send_frame(type, s->id, buf, (uint32_t)n);
      s->output_unacked += (size_t)n;
      if (!is_drain) return 1;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return 1;
    /* EOF, or EIO from a pty master whose slave closed. */
    if (*fd == s->in) s->in = -1;
    close_fd(fd);
    return 0;
  }
}

/* Tell the host how many STDIN bytes the process took, so it may send that many more. Batched:
 * a WINDOW per 32 KiB, and one when the queue runs dry. */
static void ack_stdin(struct session *s, int is_forced) {
  if (s->stdin_unacked == 0 || (!is_forced && s->stdin_unacked < 32768)) return;
  send_u32(F_WINDOW, s->id, (uint32_t)s->stdin_unacked);
  s->stdin_unacked = 0;
}

/* The end of stdin: the pipe closed, or for a tty (which has no end of its own) its EOF character. */
static void close_stdin(struct session *s) {
  if (!s->is_tty) close_fd(&s->in);
  else if (s->in >= 0 && write(s->in, "\004", 1) < 0) logmsg("session %u: cannot write EOF to the tty: %s", s->id, strerror(errno));
}

/* Write what is queued for the process's stdin, as far as it takes it without blocking. */
void flush_stdin(struct session *s) {
  while (s->stdin_queued > 0 && s->in >= 0) {
    ssize_t n = write(s->in, s->stdin_queue, s->stdin_queued);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      /* The process closed its stdin: what is queued has nowhere to go. Acknowledged all the
       * same, so the host is never left waiting for a window that cannot open. */
      s->stdin_unacked += s->stdin_queued;
      s->stdin_queued = 0;
      if (!s->is_tty) close_fd(&s->in);
      break;
    }
    memmove(s->stdin_queue, s->stdin_queue + n, s->stdin_queued - (size_t)n);
    s->stdin_queued -= (size_t)n;
    s->stdin_unacked += (size_t)n;
  }
  if (s->stdin_queued == 0 && s->is_stdin_closing) {
    s->is_stdin_closing = 0;
    close_stdin(s);
  }
  ack_stdin(s, s->stdin_queued == 0);
}

/* Queue STDIN bytes (or a tty's end-of-file character) for the process. */
void queue_stdin(struct session *s, const unsigned char *data, uint32_t len) {
  if (s->in < 0) {
    s->stdin_unacked += len;
    ack_stdin(s, 1);
    return;
  }
  if (!s->stdin_queue) s->stdin_queue = malloc(STREAM_WINDOW_BYTES + 1);
  if (!s->stdin_queue || s->stdin_queued + len > STREAM_WINDOW_BYTES + 1) {
    /* The host sent past its window: a protocol error, but only this stream's. */
    logmsg("session %u: stdin past the window (%zu + %u bytes), dropped", s->id, s->stdin_queued, len);
    s->stdin_unacked += len;
    ack_stdin(s, 1);
    return;
  }
  memcpy(s->stdin_queue + s->stdin_queued, data, len);
  s->stdin_queued += len;
  flush_stdin(s);
}

static void finish_session(struct session *s) {
  /* The process has exited: what it wrote is in the pipe buffers; send it before EXIT. */
  if (s->out >= 0) { fcntl(s->out, F_SETFL, O_NONBLOCK); pump(s, &s->out, F_STDOUT, 1); }
  if (s->err >= 0) { fcntl(s->err, F_SETFL, O_NONBLOCK); pump(s, &s->err, F_STDERR, 1); }
  close_fd(&s->out);
  close_fd(&s->err);
  if (s->in >= 0) close_fd(&s->in);
  free(s->stdin_queue);
  s->stdin_queue = NULL;
  int code = WIFEXITED(s->status) ? WEXITSTATUS(s->status) : 128 + WTERMSIG(s->status);
  send_u32(F_EXIT, s->id, (uint32_t)code);
  if (s->id == 0) is_main_done = 1;
  s->used = 0;
}

void reap(void) {
  int status;
  pid_t pid;
  while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
    for (int i = 0; i < MAX_SESSIONS; i++) {
      if (sessions[i].used && sessions[i].pid == pid) {
        sessions[i].has_exited = 1;
        sessions[i].status = status;
        finish_session(&sessions[i]);
      }
    }
  }
}
