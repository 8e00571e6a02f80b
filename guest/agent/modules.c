/*
 * Kernel modules for a prebuilt guest kernel (guest/kernel/prebuilt): Debian's kernel builds
 * virtio-mmio, the virtio console, 9p, overlay and virtio-net as modules, so the initramfs
 * carries them in /lib/modules with /lib/modules/berth.order listing them dependencies first.
 * Berth's own kernel has all of it built in and its initramfs has no such list: nothing to do.
 *
 * Linked into the agent (scripts/build); the agent calls load_guest_modules() once, first thing
 * after mounting /proc, /sys and /dev, before it opens the console or the agent's port (both
 * exist only once virtio_mmio and virtio_console are loaded).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MODULE_DIR "/lib/modules"
#define ORDER_FILE MODULE_DIR "/berth.order"

/* The console is not up yet (it is one of the modules): report through the kernel's log, which
 * the console replays once it registers, so a failure ends up in the VM's console.log. */
static void kmsg(const char *name, int err) {
  int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return;
  char line[256];
  int n = snprintf(line, sizeof line, "<3>berth-agent: cannot load %s: %s\n", name, strerror(err));
  if (n > 0) (void)!write(fd, line, (size_t)n);
  close(fd);
}

/*
 * Load every module named in /lib/modules/berth.order, in that order. No module parameters:
 * the kernel does not hand `module.param=` command-line values to modules loaded later, and
 * passing one a module does not know would make the load fail. A module already present
 * (EEXIST) counts as loaded. Returns how many could not be loaded; 0 when there is no list.
 */
int load_guest_modules(void) {
  FILE *order = fopen(ORDER_FILE, "re");
  if (!order) return 0;
  int failures = 0;
  char name[256];
  while (fgets(name, sizeof name, order)) {
    name[strcspn(name, "\r\n")] = '\0';
    if (name[0] == '\0' || name[0] == '#' || strchr(name, '/')) continue;
    char path[sizeof MODULE_DIR + sizeof name + 1];
    snprintf(path, sizeof path, "%s/%s", MODULE_DIR, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      kmsg(name, errno);
      failures++;
      continue;
    }
    if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST) {
      kmsg(name, errno);
      failures++;
    }
    close(fd);
  }
  fclose(order);
  return failures;
}
