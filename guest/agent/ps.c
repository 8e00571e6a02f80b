/*
 * berth-agent: PS: the guest's process list for `docker top`.
 */
#define _GNU_SOURCE
#include "agent.h"

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
void send_process_list(uint32_t id) {
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
  send_frame(F_PS_LIST, id, out, (uint32_t)used);
}
