/*
 * berth-agent: Mounts: the container's root (the 9p share), and START's bind mounts, volumes and
 * tmpfs mounts.
 */
#define _GNU_SOURCE
#include "agent.h"
#include <linux/openat2.h>

int is_root_mounted;

static void ensure_dir(const char *path) {
  if (mkdir(path, 0755) < 0 && errno != EEXIST) logmsg("mkdir %s: %s", path, strerror(errno));
}

void mount_or_log(const char *src, const char *dst, const char *type, unsigned long flags, const char *data) {
  ensure_dir(dst);
  if (mount(src, dst, type, flags, data) < 0) logmsg("mount %s on %s: %s", type, dst, strerror(errno));
}

/* The container's /dev, as a process container's: a tmpfs with the standard character devices
 * and links, not the guest's devtmpfs (its console, the agent's channel, /dev/kmsg, and one
 * instance shared with the agent). */
static void make_dev(void) {
  static const struct { const char *name; unsigned major, minor; } nodes[] = {
    { "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 }, { "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
  };
  static const struct { const char *name, *target; } links[] = {
    { "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
    { "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" }, { "core", "/proc/kcore" },
  };
  mount_or_log("tmpfs", ROOT "/dev", "tmpfs", MS_NOSUID, "mode=0755,size=65536k");
  char path[64];
  for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
    snprintf(path, sizeof path, ROOT "/dev/%s", nodes[i].name);
    if (mknod(path, S_IFCHR | 0666, makedev(nodes[i].major, nodes[i].minor)) < 0) logmsg("mknod %s: %s", path, strerror(errno));
    else chmod(path, 0666); /* past the umask */
  }
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
    snprintf(path, sizeof path, ROOT "/dev/%s", links[i].name);
    if (symlink(links[i].target, path) < 0) logmsg("symlink %s: %s", path, strerror(errno));
  }
}

/* The container's root: the 9p share, with the kernel filesystems a process container sees. */
int mount_root(void) {
  if (is_root_mounted) return 0;
  ensure_dir(ROOT);
  /* access=client: the guest kernel checks permissions from the share's owners and modes, as
   * it would on a local disk (QEMU, as root, does what the guest allowed). */
  if (mount("rootfs", ROOT, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144,access=client") < 0) return -1;
  /* Its /proc is the main process's to mount, in its PID namespace (spawn.c). */
  ensure_dir(ROOT "/proc");
  mount_or_log("sysfs", ROOT "/sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  make_dev();
  mount_or_log("devpts", ROOT "/dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
  /* /dev/shm is one of the START's tmpfs fields, sized by --shm-size. */
  is_root_mounted = 1;
  return 0;
}

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
int mount_user(char *field, const char **what) {
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
int mount_tmpfs(char *field, const char **what) {
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

/* A path of the container, opened (O_PATH) with its symlinks resolved as if the container's root
 * were / (an image's link cannot lead out of it), and no /proc magic links followed. */
static int open_in_root(const char *path) {
  /* Opened each time: a root opened before the caller's unshare names the old namespace's mounts. */
  int root_fd = open(ROOT, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) return -1;
  struct open_how how = { .flags = O_PATH | O_CLOEXEC, .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS };
  int fd = (int)syscall(SYS_openat2, root_fd, path, &how, sizeof how);
  int saved = errno;
  close(root_fd);
  errno = saved;
  return fd;
}

/* Mounts on what fd names, through its /proc/self/fd link: never on a path resolved again. */
static int mount_on_fd(const char *src, int fd, const char *type, unsigned long flags, const char *data) {
  char target[64];
  snprintf(target, sizeof target, "/proc/self/fd/%d", fd);
  return mount(src, target, type, flags, data);
}

/* One of the spec's maskedPaths: an empty read-only tmpfs over a directory, /dev/null over
 * anything else. 0 when hidden or missing; -1 with errno set when it cannot be hidden. */
int mask_path(const char *path) {
  int fd = open_in_root(path);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  struct stat st;
  int rc = fstat(fd, &st);
  if (rc == 0) rc = S_ISDIR(st.st_mode) ? mount_on_fd("tmpfs", fd, "tmpfs", MS_RDONLY, "size=0") : mount_on_fd("/dev/null", fd, NULL, MS_BIND, NULL);
  int saved = errno;
  close(fd);
  errno = saved;
  return rc;
}

/* One of the spec's readonlyPaths: bound over itself, then that bind remounted read-only. 0 when
 * done or missing; -1 with errno set otherwise. */
int make_path_readonly(const char *path) {
  int fd = open_in_root(path);
  if (fd < 0) return errno == ENOENT ? 0 : -1;
  char self[64];
  snprintf(self, sizeof self, "/proc/self/fd/%d", fd);
  int rc = mount(self, self, NULL, MS_BIND | MS_REC, NULL);
  int saved = errno;
  close(fd);
  errno = saved;
  if (rc < 0) return -1;
  /* Reopened: fd named what now lies under the bind, and the remount must reach the bind itself. */
  fd = open_in_root(path);
  if (fd < 0) return -1;
  rc = mount_on_fd(NULL, fd, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  saved = errno;
  close(fd);
  errno = saved;
  return rc;
}
