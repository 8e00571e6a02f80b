/*
 * Shared by berth-vm-shim.c and berth-vm.c: a whole file in memory, NUL-terminated (so text
 * can be used as a string; binary files such as start.spec use *len_out). NULL when it cannot
 * be opened. The caller frees it.
 */
#ifndef BERTH_READ_FILE_H
#define BERTH_READ_FILE_H

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

static char *read_file(const char *path, size_t *len_out) {
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return NULL;
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 1 >= cap) buf = realloc(buf, cap *= 2);
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = 0;
	if (len_out) *len_out = len;
	return buf;
}

#endif
