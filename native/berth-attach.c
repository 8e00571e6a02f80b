/*
 * berth-attach: relay between conmon's attach socket and this process's stdio.
 *
 * Node cannot speak SOCK_SEQPACKET, so berthd runs one of these per attach.
 *   berth-attach [--tty] [--no-stdin] [--ready] [--watch-fd N] <attach-socket-path>
 * Each message conmon sends starts with one byte: 2 stdout, 3 stderr. Without --tty they are
 * written to stdout in Docker's multiplexed framing (stream byte, three zero bytes, 4-byte
 * big-endian length, payload); with --tty the payload is written raw. Bytes read from stdin are
 * sent to the socket as they are (conmon writes them to the container's stdin); stdin EOF shuts
 * down the socket's write side so conmon sees it. With --ready it writes "ready\n" to stderr once
 * connected, for callers that must not let the process start before (exec). With --watch-fd N it
 * also exits 0 once fd N (the API client's connection, inherited) is hung up at both ends: a client
 * that went away must not leave this process behind until the container next prints, while a
 * client's half-close (its stdin EOF) only ends our stdin. Exits 0 when conmon closes the socket or
 * stdout's reader goes away (detach), 1 on a connect or I/O error, 2 on a usage error.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CONMON_BUF 8192

static int write_all(int fd, const unsigned char *buf, size_t len) {
	while (len > 0) {
		ssize_t n = write(fd, buf, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			return -1;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The reader of our stdout went away: a detach, not an error. */
static int is_detach_errno(int err) {
	return err == EPIPE || err == ECONNRESET;
}

static int fail(const char *what) {
	fprintf(stderr, "berth-attach: %s: %s\n", what, strerror(errno));
	return 1;
}

static int connect_attach(const char *path) {
	/* chdir to the socket's directory so paths longer than sun_path still work. */
	char *copy = strdup(path);
	char *copy2 = strdup(path);
	if (!copy || !copy2) return -1;
	const char *dir = dirname(copy);
	const char *base = basename(copy2);
	if (chdir(dir) < 0) {
		fprintf(stderr, "berth-attach: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	struct sockaddr_un addr;
	memset(&addr, 0, sizeof addr);
	addr.sun_family = AF_UNIX;
	if (strlen(base) >= sizeof addr.sun_path) {
		fprintf(stderr, "berth-attach: socket name too long\n");
		return -1;
	}
	strcpy(addr.sun_path, base);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) return -1;
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		fprintf(stderr, "berth-attach: connect %s: %s\n", path, strerror(errno));
		close(fd);
		return -1;
	}
	free(copy);
	free(copy2);
	return fd;
}

int main(int argc, char **argv) {
	int tty = 0, use_stdin = 1, ready = 0, watch_fd = -1;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tty") == 0) tty = 1;
		else if (strcmp(argv[i], "--no-stdin") == 0) use_stdin = 0;
		else if (strcmp(argv[i], "--ready") == 0) ready = 1;
		else if (strcmp(argv[i], "--watch-fd") == 0 && i + 1 < argc) watch_fd = atoi(argv[++i]);
		else if (!path && argv[i][0] != '-') path = argv[i];
		else {
			fprintf(stderr, "usage: berth-attach [--tty] [--no-stdin] [--ready] [--watch-fd N] <attach-socket>\n");
			return 2;
		}
	}
	if (!path) {
		fprintf(stderr, "usage: berth-attach [--tty] [--no-stdin] [--ready] [--watch-fd N] <attach-socket>\n");
		return 2;
	}
	/* A detached reader must show up as EPIPE, not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);

	int sock = connect_attach(path);
	if (sock < 0) return 1;
	if (ready) {
		static const char message[] = "ready\n";
		if (write(STDERR_FILENO, message, sizeof message - 1) < 0) return fail("write");
	}

	unsigned char in[CONMON_BUF + 1];
	unsigned char out[8 + CONMON_BUF + 1];
	int stdin_open = use_stdin;
	for (;;) {
		struct pollfd fds[4];
		fds[0].fd = sock;
		fds[0].events = POLLIN;
		/* events 0 on stdout still reports POLLERR/POLLHUP when its reader is gone. */
		fds[1].fd = STDOUT_FILENO;
		fds[1].events = 0;
		fds[2].fd = stdin_open ? STDIN_FILENO : -1;
		fds[2].events = POLLIN;
		/* events 0: only POLLHUP/POLLERR, which a socket reports once both directions are shut
		 * (the peer closed it), never for the peer's half-close. */
		fds[3].fd = watch_fd;
		fds[3].events = 0;
		if (poll(fds, 4, -1) < 0) {
			if (errno == EINTR) continue;
			return fail("poll");
		}
		if (fds[1].revents & (POLLERR | POLLHUP | POLLNVAL)) return 0;
		if (fds[3].revents & (POLLERR | POLLHUP | POLLNVAL)) return 0;
		if (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = recv(sock, in, sizeof in, 0);
			if (n < 0) {
				if (errno == EINTR || errno == EAGAIN) continue;
				return errno == ECONNRESET ? 0 : fail("recv");
			}
			if (n == 0) return 0;
			unsigned char type = in[0];
			size_t len = (size_t)n - 1;
			if (len == 0 || (type != 2 && type != 3)) continue;
			if (tty) {
				if (write_all(STDOUT_FILENO, in + 1, len) < 0) return is_detach_errno(errno) ? 0 : fail("write");
			} else {
				out[0] = type == 2 ? 1 : 2;
				out[1] = out[2] = out[3] = 0;
				out[4] = (unsigned char)(len >> 24);
				out[5] = (unsigned char)(len >> 16);
				out[6] = (unsigned char)(len >> 8);
				out[7] = (unsigned char)len;
				memcpy(out + 8, in + 1, len);
				if (write_all(STDOUT_FILENO, out, len + 8) < 0) return is_detach_errno(errno) ? 0 : fail("write");
			}
		}
		if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(STDIN_FILENO, in, CONMON_BUF);
			if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
			if (n <= 0) {
				stdin_open = 0;
				shutdown(sock, SHUT_WR);
				continue;
			}
			/* conmon reads at most CONMON_BUF per message; larger input is never produced here. */
			if (send(sock, in, (size_t)n, MSG_NOSIGNAL) < 0) {
				if (errno == EPIPE || errno == ECONNRESET) return 0;
				return fail("send");
			}
		}
	}
}
