/*
 * The guest agent's shared declarations, included by every file of guest/agent/ (each defines
 * _GNU_SOURCE first). The wire format is protocol.h and PROTOCOL.md.
 */
#ifndef BERTH_AGENT_H
#define BERTH_AGENT_H

#include <arpa/inet.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <net/route.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/capability.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/reboot.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "protocol.h"

#define HEADER FRAME_HEADER_BYTES
#define MAX_PAYLOAD FRAME_MAX_PAYLOAD
#define MAX_SESSIONS 64
#define CHANNEL "/dev/vport0p1"
#define ROOT "/rootfs"

struct session {
  int used;
  uint32_t id;
  pid_t pid;
  int in, out, err; /* our ends; -1 when closed. With a tty, out is the pty master and in == out. */
  int is_tty;
  int has_exited;
  int status;
  /* STDIN bytes waiting for the process: at most a window, which is all the host may send
   * unacknowledged. Written without blocking, so a process that does not read blocks nobody. */
  unsigned char *stdin_queue;
  size_t stdin_queued;
  size_t stdin_unacked;   /* written to the process, not yet acknowledged with WINDOW */
  int is_stdin_closing;   /* STDIN_CLOSE came with bytes still queued: close after them */
  size_t output_unacked;  /* STDOUT/STDERR bytes the host has not acknowledged */
};

/* Every field takes at least 5 bytes ("arg=" and its NUL): no frame can hold more, so none is ever dropped. */
#define MAX_FIELDS (MAX_PAYLOAD / 5 + 2)

struct spec {
  char *args[MAX_FIELDS];
  int nargs;
  char *env[MAX_FIELDS];
  int nenv;
  const char *cwd;
  const char *host;
  uid_t uid;
  gid_t gid;
  gid_t groups[64];
  int ngroups;
  int is_tty;
  int is_root_readonly; /* START's readonly=1: --read-only */
  int has_caps;         /* caps= given: bounding/effective/permitted/inheritable/ambient masks */
  uint64_t caps[5];
  int is_no_new_privs;
  char *masked[64], *rdonly[64]; /* START only: the spec's maskedPaths and readonlyPaths */
  int nmasked, nrdonly;
  char *mounts[64]; /* "mount=" and "tmpfs=" values in their order; is_tmpfs tells which */
  int is_tmpfs[64];
  int nmounts;
  char *ifaces[8], *addrs[32], *routes[32];
  int nifaces, naddrs, nroutes;
  const char *seed; /* START only: hex bytes for the kernel's RNG (fresh.c) */
  const char *time; /* START only: the host's wall clock, `<seconds>.<nanoseconds>` */
  const char *seccomp; /* START only: `<flags hex>/<program base64>` (seccomp.c) */
};


/* The channel to the host (channel.c), the sessions (session.c), whether the root is mounted (mounts.c). */
extern int chan;
extern struct session sessions[MAX_SESSIONS];
extern int is_main_done;
extern int is_root_mounted;

/* channel.c */
uint32_t get32(const unsigned char *p);
void logmsg(const char *fmt, ...);
void send_error(uint32_t session, const char *fmt, ...);
void send_frame(int type, uint32_t session, const void *payload, uint32_t len);
void send_u32(int type, uint32_t session, uint32_t value);
int write_all(int fd, const void *buf, size_t len);

/* fresh.c */
int apply_seed(const char *hex);
int apply_time(const char *value);

/* mounts.c */
void mount_or_log(const char *src, const char *dst, const char *type, unsigned long flags, const char *data);
int mount_root(void);
int mount_tmpfs(char *field, const char **what);
int mount_user(char *field, const char **what);
int mask_path(const char *path);
int make_path_readonly(const char *path);

/* network.c */
void bring_up_loopback(void);
int configure_network(struct spec *s, const char **what);

/* ps.c */
void send_process_list(uint32_t id);

/* seccomp.c */
int install_seccomp(void);
int keep_seccomp(const char *value);

/* session.c */
struct session *find_session(uint32_t id);
void flush_stdin(struct session *s);
int pump(struct session *s, int *fd, int type, int is_drain);
void queue_stdin(struct session *s, const unsigned char *data, uint32_t len);
void reap(void);
void start_session(uint32_t id, char *payload, uint32_t len, int is_main);

/* spawn.c */
int can_exec_in_container(void);
void exec_child(const struct spec *s, int is_main, int errfd);
pid_t fork_into_container(int is_main);
ssize_t read_child_report(int sock, char *msg, size_t size);

/* spec.c */
int parse_spec(char *payload, uint32_t len, struct spec *s);

#endif
