/*
 * berth-agent: PID 1 inside each Berth microVM. Mounts the container's root (a 9p share from
 * the host), runs the container's process and exec sessions in it, and relays their stdio,
 * signals, resizes and exit codes over one framed channel on a virtio-serial port.
 * The wire format is guest/agent/PROTOCOL.md; keep the two in step.
 * Single-threaded: one poll loop over the channel, the sessions' pipes and a signalfd.
 */
#define _GNU_SOURCE
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
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum {
  T_READY = 1, T_START, T_STDIN, T_STDOUT, T_STDERR, T_STDIN_CLOSE, T_SIGNAL, T_RESIZE,
  T_EXIT, T_ERROR, T_EXEC, T_POWEROFF, T_STARTED, T_PS, T_PS_LIST,
};
#define HEADER 12
#define MAX_PAYLOAD 65536
#define MAX_SESSIONS 64
#define MAX_FIELDS 1024
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
};

static int chan = -1;
static struct session sessions[MAX_SESSIONS];
static int is_root_mounted;
static int is_main_done;

static void logmsg(const char *fmt, ...) {
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
static uint32_t get32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int write_all(int fd, const void *buf, size_t len) {
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

static void send_frame(int type, uint32_t session, const void *payload, uint32_t len) {
  unsigned char header[HEADER] = { 0 };
  header[0] = (unsigned char)type;
  put32(header + 4, session);
  put32(header + 8, len);
  if (write_all(chan, header, HEADER) < 0 || (len > 0 && write_all(chan, payload, len) < 0)) {
    logmsg("channel write failed: %s", strerror(errno));
  }
}

static void send_u32(int type, uint32_t session, uint32_t value) {
  unsigned char b[4];
  put32(b, value);
  send_frame(type, session, b, 4);
}

static void send_error(uint32_t session, const char *fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  send_frame(T_ERROR, session, msg, (uint32_t)strlen(msg));
}

static struct session *find_session(uint32_t id) {
  for (int i = 0; i < MAX_SESSIONS; i++)
    if (sessions[i].used && sessions[i].id == id) return &sessions[i];
  return NULL;
}

static void close_fd(int *fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

static void ensure_dir(const char *path) {
  if (mkdir(path, 0755) < 0 && errno != EEXIST) logmsg("mkdir %s: %s", path, strerror(errno));
}

static void mount_or_log(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  ensure_dir(dst);
  if (mount(src, dst, type, flags, data) < 0) logmsg("mount %s on %s: %s", type, dst, strerror(errno));
}

/* The container's root: the 9p share, with the kernel filesystems a process container sees. */
static int mount_root(void) {
  if (is_root_mounted) return 0;
  ensure_dir(ROOT);
  /* access=client: the guest kernel checks permissions from the share's owners and modes, as
   * it would on a local disk (QEMU, as root, does what the guest allowed). */
  if (mount("rootfs", ROOT, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144,access=client") < 0) return -1;
  mount_or_log("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_or_log("sysfs", ROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  mount_or_log("devtmpfs", ROOT "/dev", "devtmpfs", MS_NOSUID, "mode=0755");
  mount_or_log("devpts", ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  /* /dev/shm is one of the START's tmpfs fields, sized by --shm-size. */
  is_root_mounted = 1;
  return 0;
}

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
};

/* mkdir -p of an absolute path (the container root's prefix included). */
static void make_dirs(char *path) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) < 0 && errno != EEXIST) { *p = '/'; return; }
    *p = '/';
  }
  if (mkdir(path, 0755) < 0 && errno != EEXIST) return;
}

/* One bind mount or volume: `<tag>/<ro|rw>/<file name>/<destination>` (PROTOCOL.md). Its 9p
 * share is mounted once at /mnt/<tag>; a directory is bind-mounted from there, a file from
 * inside it. Returns -1 with errno and *what set on failure. */
static int mount_user(char *field, const char **what) {
  static char mounted[64][16];
  static int nmounted;
  char *tag = field, *mode = strchr(tag, '/');
  *what = field;
  if (!mode) { errno = EINVAL; return -1; }
  *mode++ = '\0';
  char *file = strchr(mode, '/');
  if (!file) { errno = EINVAL; return -1; }
  *file++ = '\0';
  char *dest = strchr(file, '/');
  if (!dest || strlen(tag) >= 16) { errno = EINVAL; return -1; }
  *dest++ = '\0';
  *what = dest;
  int is_ro = !strcmp(mode, "ro");
  char stage[64], source[4200], target[4200];
  snprintf(stage, sizeof stage, "/mnt/%s", tag);
  int is_mounted = 0;
  for (int i = 0; i < nmounted; i++) if (!strcmp(mounted[i], tag)) is_mounted = 1;
  if (!is_mounted) {
    ensure_dir("/mnt");
    ensure_dir(stage);
    if (mount(tag, stage, "9p", is_ro ? MS_RDONLY : 0, "trans=virtio,version=9p2000.L,msize=262144,access=client") < 0) return -1;
    if (nmounted < 64) snprintf(mounted[nmounted++], 16, "%s", tag);
  }
  snprintf(source, sizeof source, "%s%s%s", stage, file[0] ? "/" : "", file);
  snprintf(target, sizeof target, ROOT "%s", dest);
  if (file[0]) {
    /* A file mount needs a file to mount over, as runc makes one. */
    char *slash = strrchr(target, '/');
    *slash = '\0';
    make_dirs(target);
    *slash = '/';
    int fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0) close(fd);
  } else {
    make_dirs(target);
  }
  if (mount(source, target, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
  if (is_ro && mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY, NULL) < 0) return -1;
  return 0;
}

/* One tmpfs: `<options>/<destination>` (PROTOCOL.md). Options are split, as mount(8) does, into
 * flags and the filesystem's data (size=, mode=, uid=, ...). Returns -1 with errno set. */
static int mount_tmpfs(char *field, const char **what) {
  static const struct { const char *name; unsigned long set, clear; } flags[] = {
    { "ro", MS_RDONLY, 0 }, { "rw", 0, MS_RDONLY }, { "nosuid", MS_NOSUID, 0 }, { "suid", 0, MS_NOSUID },
    { "nodev", MS_NODEV, 0 }, { "dev", 0, MS_NODEV }, { "noexec", MS_NOEXEC, 0 }, { "exec", 0, MS_NOEXEC },
    { "sync", MS_SYNCHRONOUS, 0 }, { "async", 0, MS_SYNCHRONOUS }, { "noatime", MS_NOATIME, 0 },
    { "atime", 0, MS_NOATIME }, { "relatime", MS_RELATIME, 0 }, { "norelatime", 0, MS_RELATIME },
    { "strictatime", MS_STRICTATIME, 0 }, { "nodiratime", MS_NODIRATIME, 0 }, { "diratime", 0, MS_NODIRATIME },
  };
  char *dest = strchr(field, '/');
  *what = field;
  if (!dest) { errno = EINVAL; return -1; }
  *dest = '\0';
  char data[1024] = "";
  unsigned long mflags = 0;
  for (char *opt = strtok(field, ","); opt; opt = strtok(NULL, ",")) {
    int is_flag = 0;
    for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
      if (strcmp(opt, flags[i].name)) continue;
      mflags = (mflags | flags[i].set) & ~flags[i].clear;
      is_flag = 1;
    }
    /* Propagation and runc's tmpcopyup mean nothing in a guest with one mount namespace. */
    if (is_flag || !strchr(opt, '=')) continue;
    if (data[0]) strncat(data, ",", sizeof data - strlen(data) - 1);
    strncat(data, opt, sizeof data - strlen(data) - 1);
  }
  char target[4200];
  *dest = '/';
  *what = dest;
  snprintf(target, sizeof target, ROOT "%s", dest);
  make_dirs(target);
  return mount("tmpfs", target, "tmpfs", mflags, data);
}

/* Split `a/b/c...` in place into at most n parts; returns how many there were. */
static int split_slash(char *value, char **parts, int n) {
  int count = 0;
  parts[count++] = value;
  for (char *p = value; *p && count < n; p++)
    if (*p == '/') { *p = '\0'; parts[count++] = p + 1; }
  return count;
}

static int ifreq_ioctl(int fd, unsigned long request, struct ifreq *ifr, const char *name) {
  snprintf(ifr->ifr_name, IFNAMSIZ, "%s", name);
  return ioctl(fd, request, ifr);
}

static void set_inet(struct sockaddr *sa, in_addr_t address) {
  struct sockaddr_in *in = (struct sockaddr_in *)sa;
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_addr.s_addr = address;
}

static in_addr_t prefix_mask(int prefix) {
  return prefix <= 0 ? 0 : htonl(prefix >= 32 ? 0xffffffffu : ~((1u << (32 - prefix)) - 1));
}

/* The container's interfaces (PROTOCOL.md `iface`, `addr`, `route`): the virtio-net device with
 * the host interface's MAC takes its name and MTU and comes up; then the addresses (the prefix
 * routes follow from them), then the routes through gateways. Plain ioctls: no netlink needed
 * for one address per label. Returns -1 with errno and *what set. */
static int configure_network(struct spec *s, const char **what) {
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) { *what = "socket"; return -1; }
  struct ifreq ifr;
  char *ifnames[8];
  for (int i = 0; i < s->nifaces; i++) {
    char *p[3];
    *what = s->ifaces[i];
    if (split_slash(s->ifaces[i], p, 3) != 3) { errno = EINVAL; goto fail; }
    *what = ifnames[i] = p[1];
    unsigned char mac[6];
    if (sscanf(p[0], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1], &mac[2], &mac[3], &mac[4], &mac[5]) != 6) { errno = EINVAL; goto fail; }
    struct if_nameindex *names = if_nameindex(), *found = NULL;
    for (struct if_nameindex *n = names; n && n->if_index; n++) {
      memset(&ifr, 0, sizeof ifr);
      if (ifreq_ioctl(fd, SIOCGIFHWADDR, &ifr, n->if_name) == 0 && !memcmp(ifr.ifr_hwaddr.sa_data, mac, 6)) { found = n; break; }
    }
    if (!found) { if (names) if_freenameindex(names); errno = ENODEV; goto fail; }
    if (strcmp(found->if_name, p[1])) {
      memset(&ifr, 0, sizeof ifr);
      snprintf(ifr.ifr_newname, IFNAMSIZ, "%s", p[1]);
      if (ifreq_ioctl(fd, SIOCSIFNAME, &ifr, found->if_name) < 0) { if_freenameindex(names); goto fail; }
    }
    if_freenameindex(names);
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_mtu = atoi(p[2]);
    if (ifr.ifr_mtu > 0 && ifreq_ioctl(fd, SIOCSIFMTU, &ifr, p[1]) < 0) goto fail;
    memset(&ifr, 0, sizeof ifr);
    if (ifreq_ioctl(fd, SIOCGIFFLAGS, &ifr, p[1]) < 0) goto fail;
    ifr.ifr_flags |= IFF_UP;
    if (ifreq_ioctl(fd, SIOCSIFFLAGS, &ifr, p[1]) < 0) goto fail;
  }
  /* Until the interface has its carrier its qdisc drops every packet: a process
   * that starts at once with a DNS query would lose it. With the carrier there when it comes up,
   * the kernel activates the qdisc at once; IFF_RUNNING (the operational state) follows only
   * when the link watcher runs, up to a second later, and is not needed for traffic. */
  for (int i = 0; i < s->nifaces; i++) {
    /* IFF_LOWER_UP does not fit SIOCGIFFLAGS's 16 bits: sysfs has the carrier. */
    char carrier_path[64];
    snprintf(carrier_path, sizeof carrier_path, "/sys/class/net/%s/carrier", ifnames[i]);
    for (int tries = 0; tries < 600; tries++) {
      char value[4] = "";
      int cfd = open(carrier_path, O_RDONLY | O_CLOEXEC);
      if (cfd < 0) break;
      ssize_t n = read(cfd, value, sizeof value - 1);
      close(cfd);
      if (n <= 0 || value[0] == '1') break;
      usleep(5000);
    }
  }
  for (int i = 0; i < s->naddrs; i++) {
    char *p[3], label[IFNAMSIZ];
    *what = s->addrs[i];
    if (split_slash(s->addrs[i], p, 3) != 3) { errno = EINVAL; goto fail; }
    *what = p[1];
    /* A second address on one interface is an alias label, eth0:1. */
    int earlier = 0;
    for (int j = 0; j < i; j++) if (!strcmp(s->addrs[j], p[0])) earlier++;
    if (earlier) snprintf(label, sizeof label, "%s:%d", p[0], earlier); else snprintf(label, sizeof label, "%s", p[0]);
    struct in_addr address;
    if (inet_pton(AF_INET, p[1], &address) != 1) { errno = EINVAL; goto fail; }
    memset(&ifr, 0, sizeof ifr);
    set_inet(&ifr.ifr_addr, address.s_addr);
    if (ifreq_ioctl(fd, SIOCSIFADDR, &ifr, label) < 0) goto fail;
    memset(&ifr, 0, sizeof ifr);
    set_inet(&ifr.ifr_netmask, prefix_mask(atoi(p[2])));
    if (ifreq_ioctl(fd, SIOCSIFNETMASK, &ifr, label) < 0) goto fail;
  }
  for (int i = 0; i < s->nroutes; i++) {
    char *p[4];
    *what = s->routes[i];
    if (split_slash(s->routes[i], p, 4) != 4) { errno = EINVAL; goto fail; }
    *what = p[0];
    struct in_addr dst, gw;
    if (inet_pton(AF_INET, p[0], &dst) != 1 || inet_pton(AF_INET, p[2], &gw) != 1) { errno = EINVAL; goto fail; }
    struct rtentry rt;
    memset(&rt, 0, sizeof rt);
    int prefix = atoi(p[1]);
    set_inet(&rt.rt_dst, dst.s_addr & prefix_mask(prefix));
    set_inet(&rt.rt_genmask, prefix_mask(prefix));
    set_inet(&rt.rt_gateway, gw.s_addr);
    rt.rt_flags = RTF_UP | RTF_GATEWAY | (prefix == 32 ? RTF_HOST : 0);
    rt.rt_dev = p[3];
    if (ioctl(fd, SIOCADDRT, &rt) < 0 && errno != EEXIST) goto fail;
  }
  close(fd);
  return 0;
fail:
  { int saved = errno; close(fd); errno = saved; }
  return -1;
}

/* Parses NUL-terminated key=value fields in place; returns -1 on a malformed spec. */
static int parse_spec(char *payload, uint32_t len, struct spec *s) {
  memset(s, 0, sizeof *s);
  s->cwd = "/";
  char *p = payload, *end = payload + len;
  while (p < end) {
    char *field = p;
    char *nul = memchr(p, '\0', (size_t)(end - p));
    if (!nul) return -1;
    p = nul + 1;
    char *eq = strchr(field, '=');
    if (!eq) return -1;
    *eq = '\0';
    char *value = eq + 1;
    if (!strcmp(field, "arg") && s->nargs < MAX_FIELDS - 1) s->args[s->nargs++] = value;
    else if (!strcmp(field, "env") && s->nenv < MAX_FIELDS - 1) s->env[s->nenv++] = value;
    else if (!strcmp(field, "cwd")) s->cwd = value;
    else if (!strcmp(field, "host")) s->host = value;
    else if (!strcmp(field, "uid")) s->uid = (uid_t)strtoul(value, NULL, 10);
    else if (!strcmp(field, "gid")) s->gid = (gid_t)strtoul(value, NULL, 10);
    else if (!strcmp(field, "tty")) s->is_tty = !strcmp(value, "1");
    else if (!strcmp(field, "readonly")) s->is_root_readonly = !strcmp(value, "1");
    else if (!strcmp(field, "caps")) {
      s->has_caps = sscanf(value, "%" SCNx64 "/%" SCNx64 "/%" SCNx64 "/%" SCNx64 "/%" SCNx64, &s->caps[0], &s->caps[1], &s->caps[2], &s->caps[3], &s->caps[4]) == 5;
    }
    else if (!strcmp(field, "nnp")) s->is_no_new_privs = !strcmp(value, "1");
    else if (!strcmp(field, "masked") && s->nmasked < 64) s->masked[s->nmasked++] = value;
    else if (!strcmp(field, "rdonly") && s->nrdonly < 64) s->rdonly[s->nrdonly++] = value;
    else if (!strcmp(field, "mount") || !strcmp(field, "tmpfs")) {
      if (s->nmounts >= 64) return -1;
      s->is_tmpfs[s->nmounts] = field[0] == 't';
      s->mounts[s->nmounts++] = value;
    }
    else if (!strcmp(field, "iface")) { if (s->nifaces >= 8) return -1; s->ifaces[s->nifaces++] = value; }
    else if (!strcmp(field, "addr")) { if (s->naddrs >= 32) return -1; s->addrs[s->naddrs++] = value; }
    else if (!strcmp(field, "route")) { if (s->nroutes >= 32) return -1; s->routes[s->nroutes++] = value; }
    else if (!strcmp(field, "groups")) {
      for (char *g = strtok(value, ","); g && s->ngroups < 64; g = strtok(NULL, ","))
        s->groups[s->ngroups++] = (gid_t)strtoul(g, NULL, 10);
    }
  }
  return s->nargs > 0 ? 0 : -1;
}

/* In the child: become the container's process. Reports failure as "<code> <message>" on errfd. */
static void exec_child(const struct spec *s, int errfd) {
  char msg[600];
  int code = 126;
  if (chroot(ROOT) < 0 || chdir("/") < 0) {
    snprintf(msg, sizeof msg, "126 cannot enter the container root: %s", strerror(errno));
    goto fail;
  }
  if (chdir(s->cwd) < 0) {
    snprintf(msg, sizeof msg, "126 chdir to cwd (\"%s\") set in config.json failed: %s", s->cwd, strerror(errno));
    goto fail;
  }
  /* The spec's capabilities, as crun applies them: the bounding set first, then the user
   * (keeping the permitted set across setuid), then the sets themselves. */
  if (s->has_caps) {
    for (int cap = 0; cap <= 63; cap++) {
      if (!(s->caps[0] & (1ULL << cap)) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL) {
        snprintf(msg, sizeof msg, "126 cannot drop capability %d: %s", cap, strerror(errno));
        goto fail;
      }
    }
    prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0);
  }
  if (setgroups((size_t)s->ngroups, s->groups) < 0 || setgid(s->gid) < 0 || setuid(s->uid) < 0) {
    snprintf(msg, sizeof msg, "126 cannot set user %u:%u: %s", s->uid, s->gid, strerror(errno));
    goto fail;
  }
  if (s->has_caps) {
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct data[2];
    for (int half = 0; half < 2; half++) {
      data[half].effective = (uint32_t)(s->caps[1] >> (32 * half));
      data[half].permitted = (uint32_t)(s->caps[2] >> (32 * half));
      data[half].inheritable = (uint32_t)(s->caps[3] >> (32 * half));
    }
    if (syscall(SYS_capset, &header, data) < 0) {
      snprintf(msg, sizeof msg, "126 cannot set capabilities: %s", strerror(errno));
      goto fail;
    }
    for (int cap = 0; cap <= 63; cap++) {
      if (s->caps[4] & (1ULL << cap)) prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
    }
  }
  if (s->is_no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
    snprintf(msg, sizeof msg, "126 cannot set no_new_privs: %s", strerror(errno));
    goto fail;
  }
  char *envp[MAX_FIELDS];
  for (int i = 0; i < s->nenv; i++) envp[i] = s->env[i];
  envp[s->nenv] = NULL;
  environ = envp;
  char *argv[MAX_FIELDS];
  for (int i = 0; i < s->nargs; i++) argv[i] = s->args[i];
  argv[s->nargs] = NULL;
  /* execvp searches the PATH of environ, which is now the container's. */
  execvp(argv[0], argv);
  code = (errno == ENOENT || errno == ENOTDIR) ? 127 : 126;
  if (code == 127 && !strchr(argv[0], '/'))
    snprintf(msg, sizeof msg, "127 exec: \"%s\": executable file not found in $PATH", argv[0]);
  else
    snprintf(msg, sizeof msg, "%d exec %s: %s", code, argv[0], strerror(errno));
fail:
  write_all(errfd, msg, strlen(msg));
  _exit(code);
}

static void start_session(uint32_t id, char *payload, uint32_t len, int is_main) {
  struct spec s;
  if (find_session(id)) { send_error(id, "session %u exists", id); send_u32(T_EXIT, id, 126); return; }
  if (parse_spec(payload, len, &s) < 0) { send_error(id, "malformed process spec"); send_u32(T_EXIT, id, 126); return; }
  struct session *slot = NULL;
  for (int i = 0; i < MAX_SESSIONS && !slot; i++) if (!sessions[i].used) slot = &sessions[i];
  if (!slot) { send_error(id, "too many sessions"); send_u32(T_EXIT, id, 126); return; }
  if (mount_root() < 0) { send_error(id, "cannot mount the container root: %s", strerror(errno)); send_u32(T_EXIT, id, 126); return; }
  if (is_main && s.host && s.host[0]) sethostname(s.host, strlen(s.host));
  for (int i = 0; is_main && i < s.nmounts; i++) {
    const char *what = "";
    if ((s.is_tmpfs[i] ? mount_tmpfs(s.mounts[i], &what) : mount_user(s.mounts[i], &what)) < 0) {
      send_error(id, "error mounting \"%s\" in the VM: %s", what, strerror(errno));
      send_u32(T_EXIT, id, 126);
      return;
    }
  }

  /* The spec's masked paths (/proc/kcore and the like: /dev/null over a file, an empty
   * read-only tmpfs over a directory) and read-only paths (/proc/sys, ...), as crun makes them. */
  for (int i = 0; is_main && i < s.nmasked; i++) {
    char target[PATH_MAX];
    struct stat st;
    snprintf(target, sizeof target, ROOT "%s", s.masked[i]);
    if (stat(target, &st) < 0) continue;
    if (S_ISDIR(st.st_mode)) mount("tmpfs", target, "tmpfs", MS_RDONLY, "size=0");
    else mount("/dev/null", target, NULL, MS_BIND, NULL);
  }
  for (int i = 0; is_main && i < s.nrdonly; i++) {
    char target[PATH_MAX];
    snprintf(target, sizeof target, ROOT "%s", s.rdonly[i]);
    if (access(target, F_OK) < 0) continue;
    if (mount(target, target, NULL, MS_BIND | MS_REC, NULL) == 0) mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  }

  /* --read-only: as crun, the root's own mount turns read-only once everything is mounted on it
   * (per mount point: the volumes and tmpfs mounts on it stay writable). */
  if (is_main && s.is_root_readonly && mount(NULL, ROOT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL) < 0) {
    send_error(id, "cannot make the container root read-only: %s", strerror(errno));
    send_u32(T_EXIT, id, 126);
    return;
  }

  if (is_main && s.nifaces > 0) {
    const char *what = "";
    if (configure_network(&s, &what) < 0) {
      send_error(id, "error configuring the network (%s) in the VM: %s", what, strerror(errno));
      send_u32(T_EXIT, id, 126);
      return;
    }
  }

  int in[2] = { -1, -1 }, out[2] = { -1, -1 }, err[2] = { -1, -1 }, report[2];
  int master = -1;
  if (s.is_tty) {
    /* The container's own devpts instance: /dev/ptmx of the agent's devtmpfs has no devpts beside it. */
    master = open(ROOT "/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0 || unlockpt(master) < 0) {
      send_error(id, "cannot open a pty: %s", strerror(errno)); send_u32(T_EXIT, id, 126);
      if (master >= 0) close(master);
      return;
    }
  } else if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(err, O_CLOEXEC) < 0) {
    send_error(id, "pipe: %s", strerror(errno)); send_u32(T_EXIT, id, 126);
    return;
  }
  if (pipe2(report, O_CLOEXEC) < 0) { send_error(id, "pipe: %s", strerror(errno)); send_u32(T_EXIT, id, 126); return; }

  pid_t pid = fork();
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
    exec_child(&s, report[1]);
  }
  close(report[1]);
  if (pid < 0) {
    send_error(id, "fork: %s", strerror(errno)); send_u32(T_EXIT, id, 126);
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
  /* EOF on the report pipe means exec succeeded (it is close-on-exec). */
  char msg[600];
  ssize_t n;
  do n = read(report[0], msg, sizeof msg - 1); while (n < 0 && errno == EINTR);
  close(report[0]);
  if (n > 0) {
    msg[n] = '\0';
    char *space = strchr(msg, ' ');
    send_error(id, "%s", space ? space + 1 : msg);
  } else {
    send_frame(T_STARTED, id, NULL, 0);
  }
}

/* Reads what is buffered in fd without blocking and sends it; returns 0 at EOF or error. */
static int pump(struct session *s, int *fd, int type, int is_drain) {
  char buf[16384];
  for (;;) {
    ssize_t n = read(*fd, buf, sizeof buf);
    if (n > 0) {
      send_frame(type, s->id, buf, (uint32_t)n);
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

static void finish_session(struct session *s) {
  /* The process has exited: what it wrote is in the pipe buffers; send it before EXIT. */
  if (s->out >= 0) { fcntl(s->out, F_SETFL, O_NONBLOCK); pump(s, &s->out, T_STDOUT, 1); }
  if (s->err >= 0) { fcntl(s->err, F_SETFL, O_NONBLOCK); pump(s, &s->err, T_STDERR, 1); }
  close_fd(&s->out);
  close_fd(&s->err);
  if (s->in >= 0) close_fd(&s->in);
  int code = WIFEXITED(s->status) ? WEXITSTATUS(s->status) : 128 + WTERMSIG(s->status);
  send_u32(T_EXIT, s->id, (uint32_t)code);
  if (s->id == 0) is_main_done = 1;
  s->used = 0;
}

static void reap(void) {
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

static void power_off(void) {
  kill(-1, SIGKILL);
  sync();
  reboot(RB_AUTOBOOT);
  /* reboot=t makes that a triple fault, which QEMU's -no-reboot turns into an exit. */
  for (;;) pause();
}

/* Read a small /proc file whole; returns its length, -1 when unreadable. */
static ssize_t read_small(const char *path, char *buf, size_t size) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  size_t have = 0;
  ssize_t n;
  while (have < size - 1 && (n = read(fd, buf + have, size - 1 - have)) > 0) have += (size_t)n;
  close(fd);
  buf[have] = '\0';
  return (ssize_t)have;
}

/* PS: the guest's processes from /proc, for `docker top` (PROTOCOL.md, PS_LIST). The agent
 * (PID 1) and kernel threads are left out: everything else belongs to the container. */
static void send_process_list(uint32_t id) {
  static char out[MAX_PAYLOAD];
  char path[64], stat[1024], status[4096], cmd[4096];
  size_t used = 0;
  double uptime = 0;
  long memtotal = 0;
  if (read_small("/proc/uptime", stat, sizeof stat) > 0) uptime = strtod(stat, NULL);
  if (read_small("/proc/meminfo", status, sizeof status) > 0) {
    char *m = strstr(status, "MemTotal:");
    if (m) memtotal = strtol(m + 9, NULL, 10);
  }
  used += (size_t)snprintf(out, sizeof out, "uptime=%.2f memtotal_kb=%ld\n", uptime, memtotal);
  DIR *proc = opendir("/proc");
  struct dirent *e;
  while (proc && (e = readdir(proc))) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    long pid = atol(e->d_name);
    snprintf(path, sizeof path, "/proc/%ld/stat", pid);
    if (pid == 1 || read_small(path, stat, sizeof stat) <= 0) continue;
    /* The command name is in parentheses and may hold anything: the fields follow the last ')'. */
    char *open_paren = strchr(stat, '('), *close_paren = strrchr(stat, ')');
    if (!open_paren || !close_paren) continue;
    *close_paren = '\0';
    char state;
    long ppid, tty, rss;
    unsigned long long utime, stime, start, vsize;
    if (sscanf(close_paren + 2, "%c %ld %*d %*d %ld %*d %*u %*u %*u %*u %*u %llu %llu %*d %*d %*d %*d %*d %*d %llu %llu %ld",
               &state, &ppid, &tty, &utime, &stime, &start, &vsize, &rss) != 8) continue;
    if (pid == 2 || ppid == 2) continue;
    long uid = 0, gid = 0;
    snprintf(path, sizeof path, "/proc/%ld/status", pid);
    if (read_small(path, status, sizeof status) > 0) {
      char *u = strstr(status, "\nUid:"), *g = strstr(status, "\nGid:");
      /* The effective ids, as ps -ef's UID column shows. */
      if (u) sscanf(u + 5, "%*d %ld", &uid);
      if (g) sscanf(g + 5, "%*d %ld", &gid);
    }
    snprintf(path, sizeof path, "/proc/%ld/cmdline", pid);
    ssize_t n = read_small(path, cmd, sizeof cmd);
    for (ssize_t i = 0; i < n; i++) if (cmd[i] == '\0' || cmd[i] == '\n' || cmd[i] == '\t') cmd[i] = ' ';
    while (n > 0 && cmd[n - 1] == ' ') cmd[--n] = '\0';
    char *comm = open_paren + 1;
    for (char *c = comm; *c; c++) if (*c == '\t' || *c == '\n') *c = ' ';
    char line[8400];
    int len = snprintf(line, sizeof line, "%ld\t%ld\t%ld\t%ld\t%c\t%llu\t%llu\t%ld\t%llu\t%ld\t%s\t%s\n",
                       pid, ppid, uid, gid, state, utime + stime, start, tty, vsize / 1024, rss * (sysconf(_SC_PAGESIZE) / 1024),
                       comm, n > 0 ? cmd : "");
    if (len < 0 || used + (size_t)len > sizeof out) break;
    memcpy(out + used, line, (size_t)len);
    used += (size_t)len;
  }
  if (proc) closedir(proc);
  send_frame(T_PS_LIST, id, out, (uint32_t)used);
}

static void handle_frame(int type, uint32_t id, unsigned char *payload, uint32_t len) {
  struct session *s = find_session(id);
  switch (type) {
  case T_START:
    start_session(id, (char *)payload, len, 1);
    break;
  case T_EXEC:
    if (!is_root_mounted) { send_error(id, "the container is not running"); send_u32(T_EXIT, id, 126); break; }
    start_session(id, (char *)payload, len, 0);
    break;
  case T_STDIN:
    if (s && s->in >= 0 && write_all(s->in, payload, len) < 0 && !s->is_tty) close_fd(&s->in);
    break;
  case T_STDIN_CLOSE:
    if (s && !s->is_tty) close_fd(&s->in);
    else if (s && s->is_tty) write_all(s->in, "\004", 1);
    break;
  case T_SIGNAL:
    if (s && len >= 4) kill(s->pid, (int)get32(payload));
    break;
  case T_RESIZE:
    if (s && s->is_tty && len >= 4) {
      struct winsize ws = { .ws_row = (unsigned short)((payload[0] << 8) | payload[1]), .ws_col = (unsigned short)((payload[2] << 8) | payload[3]) };
      ioctl(s->out, TIOCSWINSZ, &ws);
    }
    break;
  case T_POWEROFF:
    power_off();
    break;
  case T_PS:
    send_process_list(id);
    break;
  default:
    break;
  }
}

/* The guest's lo, as a process container's network namespace has it. */
static void bring_up_loopback(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) return;
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    ioctl(s, SIOCSIFFLAGS, &ifr);
  }
  close(s);
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

  send_frame(T_READY, 0, NULL, 0);
  /* The host takes a while to send START (create returns, the engine runs start): mount the
   * container's root meanwhile, off the start's path. A failure is retried, and reported, then. */
  mount_root();

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
      if (s->out >= 0) { fds[nfds].fd = s->out; fds[nfds].events = POLLIN; owner[nfds] = s; kinds[nfds++] = T_STDOUT; }
      if (s->err >= 0) { fds[nfds].fd = s->err; fds[nfds].events = POLLIN; owner[nfds] = s; kinds[nfds++] = T_STDERR; }
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
      if (!s || !s->used || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      int *fd = kinds[i] == T_STDOUT ? &s->out : &s->err;
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
