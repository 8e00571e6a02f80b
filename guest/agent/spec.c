/*
 * berth-agent: Process specs (START, EXEC): NUL-terminated key=value fields parsed in place.
 */
#define _GNU_SOURCE
#include "agent.h"

/* Parses NUL-terminated key=value fields in place; returns -1 on a malformed spec. */
int parse_spec(char *payload, uint32_t len, struct spec *s) {
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
    if (!strcmp(field, "arg")) s->args[s->nargs++] = value;
    else if (!strcmp(field, "env")) s->env[s->nenv++] = value;
    else if (!strcmp(field, "cwd")) s->cwd = value;
    else if (!strcmp(field, "host")) s->host = value;
    else if (!strcmp(field, "seed")) s->seed = value;
    else if (!strcmp(field, "time")) s->time = value;
    else if (!strcmp(field, "seccomp")) s->seccomp = value;
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
