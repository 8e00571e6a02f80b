/*
 * berth-agent: In a new session's child: becoming the container's process (PID and mount
 * namespaces, pivot_root, user, capabilities, seccomp, exec).
 */
#define _GNU_SOURCE
#include "agent.h"
#include <sched.h>

/* Where the initramfs is bound on its way to becoming a mount pivot_root can leave. */
#define JAIL "/.jail"

/* The agent's own PID namespace, and the container's PID and mount namespaces as its main
 * process made them: held open, so an exec joins those even after the container's processes
 * unshare or setns elsewhere (a container with CAP_SYS_ADMIN may). -1 until made. */
static int agent_pid_ns = -1, container_pid_ns = -1, container_mnt_ns = -1;

pid_t fork_into_container(int is_main) {
  if (agent_pid_ns < 0) agent_pid_ns = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  if (agent_pid_ns < 0) return -1;
  /* The main process is PID 1 of a new PID namespace, as a process container's command is; an
   * exec session is another process in it. Only the agent's children change namespace: the
   * agent then goes back to making children in its own. */
  if (is_main ? unshare(CLONE_NEWPID) : setns(container_pid_ns, CLONE_NEWPID)) return -1;
  pid_t pid = fork();
  int saved = errno;
  if (pid > 0 && is_main) container_pid_ns = open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC);
  if (pid != 0 && setns(agent_pid_ns, CLONE_NEWPID) < 0) logmsg("cannot return to the agent's PID namespace: %s", strerror(errno));
  errno = saved;
  return pid;
}

int can_exec_in_container(void) {
  return container_pid_ns >= 0 && container_mnt_ns >= 0;
}

/* Reads the child's report: its mount namespace (the main process sends it once its root is
 * pivoted) and then its failure as "<code> <message>", or nothing when it executed. Returns the
 * message's length (0 for none). */
ssize_t read_child_report(int sock, char *msg, size_t size) {
  for (;;) {
    union { struct cmsghdr align; char bytes[CMSG_SPACE(sizeof(int))]; } control;
    struct iovec iov = { .iov_base = msg, .iov_len = size - 1 };
    struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
    ssize_t n = recvmsg(sock, &m, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    struct cmsghdr *c = n > 0 ? CMSG_FIRSTHDR(&m) : NULL;
    if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      memcpy(&fd, CMSG_DATA(c), sizeof fd);
      if (container_mnt_ns >= 0) close(container_mnt_ns);
      container_mnt_ns = fd;
      continue;
    }
    if (n < 0) return 0;
    msg[n] = '\0';
    return n;
  }
}

/* The main process's mount namespace, sent to the agent before anything of the container runs. */
static int send_mount_namespace(int sock) {
  int fd = open("/proc/self/ns/mnt", O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  union { struct cmsghdr align; char bytes[CMSG_SPACE(sizeof(int))]; } control;
  memset(&control, 0, sizeof control);
  char tag = 'n';
  struct iovec iov = { .iov_base = &tag, .iov_len = 1 };
  struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.bytes, .msg_controllen = sizeof control.bytes };
  struct cmsghdr *c = CMSG_FIRSTHDR(&m);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof fd);
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  ssize_t n = sendmsg(sock, &m, 0);
  int saved = errno;
  close(fd);
  errno = saved;
  return n == 1 ? 0 : -1;
}

/*
 * The container's own mount namespace with its root pivoted, as crun makes it, so no chroot
 * escape (CAP_SYS_CHROOT is in docker's default set) reaches the agent's initramfs: the main
 * process makes it, with a /proc of its PID namespace and the spec's masked and read-only paths
 * on it; an exec session joins the one the agent holds (as docker exec joins the container's).
 * pivot_root cannot leave the initramfs (rootfs has no parent mount), so a recursive bind of it
 * is first moved over "/" and entered, as switch_root does; the pivot then detaches that bind
 * with everything of the agent's beside the container's root. Fills msg on failure.
 */
static int enter_container_root(const struct spec *s, int is_main, int report, char *msg, size_t size) {
  if (!is_main) {
    /* setns puts root and cwd at the namespace's root: the container's. */
    if (setns(container_mnt_ns, CLONE_NEWNS) < 0 || chdir("/") < 0) {
      snprintf(msg, size, "126 cannot enter the container root: %s", strerror(errno));
      return -1;
    }
    return 0;
  }
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) goto fail;
  /* This PID namespace's own /proc: the container sees its processes, its command as PID 1. */
  if (mount("proc", ROOT "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
    snprintf(msg, size, "126 cannot mount /proc in the VM: %s", strerror(errno));
    return -1;
  }
  /* The spec's masked paths (/proc/kcore and the like) and read-only paths (/proc/sys, ...), as
   * crun makes them; a path that does not exist is skipped, one that cannot be hidden is an error. */
  for (int i = 0; i < s->nmasked; i++) {
    if (mask_path(s->masked[i]) < 0) {
      snprintf(msg, size, "126 error masking \"%s\" in the VM: %s", s->masked[i], strerror(errno));
      return -1;
    }
  }
  for (int i = 0; i < s->nrdonly; i++) {
    if (make_path_readonly(s->rdonly[i]) < 0) {
      snprintf(msg, size, "126 error making \"%s\" read-only in the VM: %s", s->rdonly[i], strerror(errno));
      return -1;
    }
  }
  if (mkdir(JAIL, 0700) < 0 && errno != EEXIST) goto fail;
  if (mount("/", JAIL, NULL, MS_BIND | MS_REC, NULL) < 0) goto fail;
  if (chdir(JAIL) < 0 || mount(JAIL, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) goto fail;
  if (chdir(ROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) goto fail;
  if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) goto fail;
  if (send_mount_namespace(report) == 0) return 0;
fail:
  snprintf(msg, size, "126 cannot enter the container root: %s", strerror(errno));
  return -1;
}

/* In the child: become the container's process (is_main), or an exec session in it. Reports
 * failure as "<code> <message>" on errfd (after the main process's mount namespace). */
void exec_child(const struct spec *s, int is_main, int errfd) {
  char msg[600];
  int code = 126;
  if (enter_container_root(s, is_main, errfd, msg, sizeof msg) < 0) goto fail;
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
  /* As runc: without no_new_privs a filter needs CAP_SYS_ADMIN, so it goes in now, before the
   * user and capabilities change (the profile must allow what follows); with it, as late as can be. */
  if (!s->is_no_new_privs && install_seccomp() < 0) {
    snprintf(msg, sizeof msg, "126 cannot apply the seccomp filter: %s", strerror(errno));
    goto fail;
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
  if (s->is_no_new_privs && install_seccomp() < 0) {
    snprintf(msg, sizeof msg, "126 cannot apply the seccomp filter: %s", strerror(errno));
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
