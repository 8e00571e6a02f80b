/*
 * berth-agent: In a new session's child: becoming the container's process (mount namespace and
 * pivot_root, user, capabilities, seccomp, exec).
 */
#define _GNU_SOURCE
#include "agent.h"
#include <sched.h>

/* Where the initramfs is bound on its way to becoming a mount pivot_root can leave. */
#define JAIL "/.jail"

/*
 * The container's own mount namespace with its root pivoted, as crun makes it, so no chroot
 * escape (CAP_SYS_CHROOT is in docker's default set) reaches the agent's initramfs: the main
 * process makes it, an exec session joins the main process's (as docker exec joins the
 * container's). pivot_root cannot leave the initramfs (rootfs has no parent mount), so a
 * recursive bind of it is first moved over "/" and entered, as switch_root does; the pivot then
 * detaches that bind with everything of the agent's beside the container's root.
 */
static int enter_container_root(pid_t main_pid) {
  if (main_pid > 0) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/ns/mnt", (int)main_pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int rc = setns(fd, CLONE_NEWNS);
    close(fd);
    /* setns puts root and cwd at the namespace's root: the container's. */
    return rc < 0 ? -1 : chdir("/");
  }
  if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return -1;
  if (mkdir(JAIL, 0700) < 0 && errno != EEXIST) return -1;
  if (mount("/", JAIL, NULL, MS_BIND | MS_REC, NULL) < 0) return -1;
  if (chdir(JAIL) < 0 || mount(JAIL, "/", NULL, MS_MOVE, NULL) < 0 || chroot(".") < 0) return -1;
  if (chdir(ROOT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0) return -1;
  if (umount2(".", MNT_DETACH) < 0) return -1;
  return chdir("/");
}

/* In the child: become the container's process (main_pid 0: the container's main process, else
 * an exec session in main_pid's container). Reports failure as "<code> <message>" on errfd. */
void exec_child(const struct spec *s, pid_t main_pid, int errfd) {
  char msg[600];
  int code = 126;
  if (enter_container_root(main_pid) < 0) {
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
