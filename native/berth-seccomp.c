/*
 * berth-seccomp: compiles an OCI seccomp section to the raw BPF program seccomp(2) takes, with
 * Debian's libseccomp, for the guest agent of a VM container to install (the guest has no
 * libseccomp and no JSON parser). berth-vm turns the section into lines on stdin
 * (src/vm/guest-seccomp.ts writes them):
 *
 *   default <action> <errno>
 *   arch <SCMP_ARCH_...>
 *   rule <action> <errno> <syscall name> <argument count> {<index> <operator> <value> <value two>}
 *
 * and the program (an array of struct sock_filter) comes out on stdout. A syscall name this
 * libseccomp does not know is skipped, as runc and crun skip it. Errors: one line on stderr, exit 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ARGS 6

static void die(const char *fmt, const char *what, int rc) {
  fprintf(stderr, "berth-seccomp: ");
  fprintf(stderr, fmt, what);
  if (rc) fprintf(stderr, ": %s", strerror(-rc));
  fputc('\n', stderr);
  exit(1);
}

/* The action word and its errno as libseccomp's action value; dies on an unknown one. */
static uint32_t action_of(const char *name, int errno_ret) {
  if (!strcmp(name, "SCMP_ACT_ALLOW")) return SCMP_ACT_ALLOW;
  if (!strcmp(name, "SCMP_ACT_ERRNO")) return SCMP_ACT_ERRNO((uint16_t)errno_ret);
  if (!strcmp(name, "SCMP_ACT_KILL") || !strcmp(name, "SCMP_ACT_KILL_THREAD")) return SCMP_ACT_KILL_THREAD;
  if (!strcmp(name, "SCMP_ACT_KILL_PROCESS")) return SCMP_ACT_KILL_PROCESS;
  if (!strcmp(name, "SCMP_ACT_TRAP")) return SCMP_ACT_TRAP;
  if (!strcmp(name, "SCMP_ACT_TRACE")) return SCMP_ACT_TRACE((uint16_t)errno_ret);
  if (!strcmp(name, "SCMP_ACT_LOG")) return SCMP_ACT_LOG;
  die("unsupported seccomp action %s", name, 0);
  return 0;
}

static enum scmp_compare operator_of(const char *name) {
  static const struct { const char *name; enum scmp_compare op; } ops[] = {
    { "SCMP_CMP_NE", SCMP_CMP_NE }, { "SCMP_CMP_LT", SCMP_CMP_LT }, { "SCMP_CMP_LE", SCMP_CMP_LE },
    { "SCMP_CMP_EQ", SCMP_CMP_EQ }, { "SCMP_CMP_GE", SCMP_CMP_GE }, { "SCMP_CMP_GT", SCMP_CMP_GT },
    { "SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ },
  };
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) if (!strcmp(name, ops[i].name)) return ops[i].op;
  die("unsupported seccomp operator %s", name, 0);
  return SCMP_CMP_EQ;
}

int main(void) {
  char word[64], action[64], name[128];
  int errno_ret;
  if (scanf("%63s %63s %d", word, action, &errno_ret) != 3 || strcmp(word, "default")) die("%s", "the input must start with a default line", 0);
  uint32_t default_action = action_of(action, errno_ret);
  scmp_filter_ctx ctx = seccomp_init(default_action);
  if (!ctx) die("%s", "seccomp_init failed", 0);
  while (scanf("%63s", word) == 1) {
    if (!strcmp(word, "arch")) {
      if (scanf("%127s", name) != 1) die("%s", "arch without a name", 0);
      /* OCI names (SCMP_ARCH_X86_64) are libseccomp's names (x86_64) in capitals with a prefix. */
      const char *bare = strncmp(name, "SCMP_ARCH_", 10) ? name : name + 10;
      char lower[128];
      size_t i = 0;
      for (; bare[i] && i < sizeof lower - 1; i++) lower[i] = (char)(bare[i] >= 'A' && bare[i] <= 'Z' ? bare[i] + 32 : bare[i]);
      lower[i] = '\0';
      uint32_t arch = seccomp_arch_resolve_name(lower);
      if (!arch) die("unknown seccomp architecture %s", name, 0);
      int rc = seccomp_arch_add(ctx, arch);
      if (rc < 0 && rc != -EEXIST) die("cannot add architecture %s", name, rc);
      continue;
    }
    if (strcmp(word, "rule")) die("unknown input line %s", word, 0);
    int nargs;
    if (scanf("%63s %d %127s %d", action, &errno_ret, name, &nargs) != 4 || nargs < 0 || nargs > MAX_ARGS * 4)
      die("%s", "malformed rule line", 0);
    struct scmp_arg_cmp args[MAX_ARGS * 4];
    int seen[MAX_ARGS] = { 0 }, is_index_repeated = 0;
    for (int i = 0; i < nargs; i++) {
      unsigned index;
      char op[64];
      uint64_t value, value_two;
      if (scanf("%u %63s %" SCNu64 " %" SCNu64, &index, op, &value, &value_two) != 4 || index >= MAX_ARGS)
        die("malformed arguments of the rule for %s", name, 0);
      if (seen[index]++) is_index_repeated = 1;
      args[i] = (struct scmp_arg_cmp){ .arg = index, .op = operator_of(op), .datum_a = value, .datum_b = value_two };
    }
    int syscall_nr = seccomp_syscall_resolve_name(name);
    if (syscall_nr == __NR_SCMP_ERROR) continue;
    uint32_t rule_action = action_of(action, errno_ret);
    /* libseccomp refuses a rule that repeats the default action; it would change nothing. */
    if (rule_action == default_action) continue;
    int rc;
    if (!is_index_repeated) {
      rc = seccomp_rule_add_array(ctx, rule_action, syscall_nr, (unsigned)nargs, args);
      if (rc < 0) die("cannot add the rule for %s", name, rc);
    } else {
      /* Conditions on one argument cannot all hold at once: each is a rule of its own (runc's reading). */
      for (int i = 0; i < nargs; i++) {
        rc = seccomp_rule_add_array(ctx, rule_action, syscall_nr, 1, &args[i]);
        if (rc < 0) die("cannot add the rule for %s", name, rc);
      }
    }
  }
  int rc = seccomp_export_bpf(ctx, 1);
  if (rc < 0) die("%s", "cannot export the program", rc);
  seccomp_release(ctx);
  return fflush(stdout) == 0 ? 0 : 1;
}
