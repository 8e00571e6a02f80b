/*
 * Shared by berth-vm-shim.c and berth-vm.c: run `<program> -force -batch <file>` (ip or tc)
 * inside a network namespace and wait for it. netns NULL means the caller's own namespace.
 * The batches are the ones `berth-vm create` leaves (release.ip, release.tc): they undo a VM's
 * taps and redirects.
 */
#ifndef BERTH_NETNS_BATCH_H
#define BERTH_NETNS_BATCH_H

#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

static void run_batch_in_netns(const char *netns, const char *program, const char *file) {
	if (access(file, R_OK) < 0) return;
	pid_t pid = fork();
	if (pid == 0) {
		if (netns) {
			int fd = open(netns, O_RDONLY | O_CLOEXEC);
			if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) _exit(1);
		}
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		close_range(3, ~0U, 0);
		execl(program, program, "-force", "-batch", file, (char *)NULL);
		_exit(127);
	}
	if (pid > 0) waitpid(pid, NULL, 0);
}

#endif
