/*
 * berth-port-relay: one forwarded connection of a pod's port (the CRI's PortForward).
 *
 *   berth-port-relay <network-namespace-path> <port>
 *
 * Enters the network namespace, connects to the port on its localhost (127.0.0.1, then ::1, as
 * the kubelet's runtimes do), and relays stdin to the connection and the connection to stdout.
 * Node cannot enter a namespace, so berthd runs one of these per forwarded connection.
 * Both directions move at once without blocking each other (a peer that writes while we write
 * to it must not deadlock us); each holds at most one buffer, and a full destination stops
 * reading its source. Stdin EOF half-closes the connection; the relay ends when the connection
 * has closed and everything read from it is written. Exits 0 then, 1 on an error (its message
 * on stderr), 2 on a usage error.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define BUFFER 65536

struct direction {
	char data[BUFFER];
	size_t len, off;
	int is_eof;
};

static int fail(const char *what) {
	fprintf(stderr, "%s: %s\n", what, strerror(errno));
	return 1;
}

static int connect_local(int port) {
	struct sockaddr_in v4 = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&v4, sizeof v4) == 0) return fd;
	int v4_errno = errno;
	if (fd >= 0) close(fd);
	struct sockaddr_in6 v6 = { .sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port), .sin6_addr = IN6ADDR_LOOPBACK_INIT };
	fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&v6, sizeof v6) == 0) return fd;
	if (fd >= 0) close(fd);
	/* The IPv4 error says more (no IPv6 at all is the common case). */
	errno = v4_errno;
	return -1;
}

/* Read into an empty direction; 0 on EOF or data, -1 on an error. */
static int fill(int from, struct direction *d) {
	ssize_t n = read(from, d->data, sizeof d->data);
	if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
	if (n == 0) d->is_eof = 1;
	d->len = (size_t)n;
	d->off = 0;
	return 0;
}

/* Write what the direction holds; -1 on an error. */
static int drain(int to, struct direction *d) {
	ssize_t n = write(to, d->data + d->off, d->len - d->off);
	if (n < 0) return errno == EAGAIN || errno == EINTR ? 0 : -1;
	d->off += (size_t)n;
	if (d->off == d->len) d->len = d->off = 0;
	return 0;
}

int main(int argc, char **argv) {
	if (argc != 3) {
		fprintf(stderr, "usage: berth-port-relay <network-namespace-path> <port>\n");
		return 2;
	}
	char *end;
	long port = strtol(argv[2], &end, 10);
	if (*end || port < 1 || port > 65535) {
		fprintf(stderr, "berth-port-relay: invalid port %s\n", argv[2]);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	int ns = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (ns < 0) return fail(argv[1]);
	if (setns(ns, CLONE_NEWNET) < 0) return fail("entering the pod's network namespace");
	close(ns);
	int sock = connect_local((int)port);
	if (sock < 0) {
		fprintf(stderr, "connecting to localhost:%ld in the pod's network namespace: %s\n", port, strerror(errno));
		return 1;
	}
	fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
	fcntl(1, F_SETFL, fcntl(1, F_GETFL) | O_NONBLOCK);
	fcntl(sock, F_SETFL, fcntl(sock, F_GETFL) | O_NONBLOCK);
	static struct direction in, out; /* in: stdin to the connection; out: the connection to stdout */
	int is_write_shut = 0;
	for (;;) {
		if (in.is_eof && in.len == 0 && !is_write_shut) {
			shutdown(sock, SHUT_WR);
			is_write_shut = 1;
		}
		if (out.is_eof && out.len == 0) return 0;
		struct pollfd fds[3] = { { .fd = -1 }, { .fd = -1 }, { .fd = sock } };
		if (!in.is_eof && in.len == 0) fds[0] = (struct pollfd){ .fd = 0, .events = POLLIN };
		if (out.len > 0) fds[1] = (struct pollfd){ .fd = 1, .events = POLLOUT };
		if (in.len > 0) fds[2].events |= POLLOUT;
		if (!out.is_eof && out.len == 0) fds[2].events |= POLLIN;
		/* Nothing to ask of the connection: a hang-up on it must not spin the loop meanwhile. */
		if (fds[2].events == 0) fds[2].fd = -1;
		if (poll(fds, 3, -1) < 0) {
			if (errno == EINTR) continue;
			return fail("poll");
		}
		if (fds[0].revents && fill(0, &in) < 0) return fail("reading stdin");
		/* Our reader (berthd) went away: nothing more can be delivered. */
		if (fds[1].revents & (POLLERR | POLLHUP)) return 0;
		if (fds[1].revents && drain(1, &out) < 0) return errno == EPIPE ? 0 : fail("writing stdout");
		if ((fds[2].revents & POLLOUT) && in.len > 0 && drain(sock, &in) < 0) return fail("writing to the connection");
		if ((fds[2].revents & (POLLIN | POLLHUP | POLLERR)) && !out.is_eof && out.len == 0 && fill(sock, &out) < 0) {
			/* A reset by the peer ends the connection like a close. */
			if (errno == ECONNRESET) return 0;
			return fail("reading the connection");
		}
	}
}
