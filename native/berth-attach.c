/*
 * berth-attach: relay between conmon's attach socket and this process's stdio.
 *
 * Node cannot speak SOCK_SEQPACKET, so berthd runs one of these per attach.
 *   berth-attach [--tty] [--no-stdin] [--ready] [--watch-fd N] [--stdin-then-fd N] <attach-socket-path>
 * Each message conmon sends starts with one byte: 2 stdout, 3 stderr. Without --tty they are
 * written to stdout in Docker's multiplexed framing (stream byte, three zero bytes, 4-byte
 * big-endian length, payload); with --tty the payload is written raw. Bytes read from stdin are
 * sent to the socket as they are (conmon writes them to the container's stdin), every one of
 * them; stdin EOF shuts down the socket's write side, after the last byte, so conmon sees it.
 * Both directions are relayed at once, without blocking either on the other: conmon blocks on a
 * full attach socket, so a helper stuck sending stdin while conmon waits for it to read output
 * would deadlock a container that echoes its input (cat). Each direction holds at most one
 * message, and a full destination stops reading its source: back-pressure, not buffering. With --ready it writes "ready\n" to stderr once
 * connected, for callers that must not let the process start before (exec). With --watch-fd N it
 * also exits 0 once fd N (the API client's connection, inherited) is hung up at both ends: a client
 * that went away must not leave this process behind until the container next prints, while a
 * client's half-close (its stdin EOF) only ends our stdin. With --stdin-then-fd N (the client's
 * connection again), stdin's EOF is not the end: the rest of the input is read from fd N itself,
 * and only N's EOF (the client's half-close) shuts down the socket's write side. berthd then hands
 * over through stdin only what it read from the connection before, and stays off the data path.
 * Exits 0 when conmon closes the socket or
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

/* conmon's messages to us: one byte of stream type and at most 8192 bytes of output. */
#define CONMON_BUF 8192
/* Our messages to conmon: it receives each into a 32768-byte buffer less one (conn_sock.c's
 * CONN_SOCK_BUF_SIZE - 1); a longer one would be cut. Fewer, larger messages for stdin. */
#define STDIN_MESSAGE 32767
#define USAGE "usage: berth-attach [--tty] [--no-stdin] [--ready] [--watch-fd N] [--stdin-then-fd N] <attach-socket>\n"

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

/* One conmon message waiting for stdout (framed), and one stdin read waiting for the socket. */
struct relay {
	unsigned char out[8 + CONMON_BUF + 1];
	size_t out_len, out_off;
	unsigned char in[STDIN_MESSAGE];
	size_t in_len;
};

static int set_nonblocking(int fd) {
	int flags = fcntl(fd, F_GETFL);
	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

/* Put one conmon message into r->out as stdout gets it; 0 when it carries nothing to relay. */
static size_t frame_message(struct relay *r, const unsigned char *msg, size_t n, int tty) {
	if (n < 2 || (msg[0] != 2 && msg[0] != 3)) return 0;
	size_t len = n - 1;
	if (tty) {
		memcpy(r->out, msg + 1, len);
		return len;
	}
	r->out[0] = msg[0] == 2 ? 1 : 2;
	r->out[1] = r->out[2] = r->out[3] = 0;
	r->out[4] = (unsigned char)(len >> 24);
	r->out[5] = (unsigned char)(len >> 16);
	r->out[6] = (unsigned char)(len >> 8);
	r->out[7] = (unsigned char)len;
	memcpy(r->out + 8, msg + 1, len);
	return len + 8;
}

static int would_block(int err) {
	return err == EAGAIN || err == EWOULDBLOCK || err == EINTR;
}

int main(int argc, char **argv) {
	int tty = 0, use_stdin = 1, ready = 0, watch_fd = -1, then_fd = -1;
	const char *path = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--tty") == 0) tty = 1;
		else if (strcmp(argv[i], "--no-stdin") == 0) use_stdin = 0;
		else if (strcmp(argv[i], "--ready") == 0) ready = 1;
		else if (strcmp(argv[i], "--watch-fd") == 0 && i + 1 < argc) watch_fd = atoi(argv[++i]);
		else if (strcmp(argv[i], "--stdin-then-fd") == 0 && i + 1 < argc) then_fd = atoi(argv[++i]);
		else if (!path && argv[i][0] != '-') path = argv[i];
		else {
			fputs(USAGE, stderr);
			return 2;
		}
	}
	if (!path || then_fd == STDIN_FILENO || then_fd == STDOUT_FILENO || then_fd == STDERR_FILENO) {
		fputs(USAGE, stderr);
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
	if (set_nonblocking(sock) < 0 || set_nonblocking(STDOUT_FILENO) < 0) return fail("fcntl");
	if (use_stdin && set_nonblocking(STDIN_FILENO) < 0) return fail("fcntl");

	static struct relay r;
	unsigned char msg[CONMON_BUF + 1];
	int stdin_open = use_stdin, sock_open = 1;
	/* Where stdin is read from now: our stdin, then (--stdin-then-fd) the client's connection. */
	int input_fd = STDIN_FILENO;
	for (;;) {
		/* conmon closed the socket and everything it sent is out: done. */
		if (!sock_open && r.out_len == 0) return 0;
		struct pollfd fds[4];
		/* Read the socket only when the last message is out, stdin only when the last read is sent. */
		fds[0].fd = sock;
		fds[0].events = (sock_open && r.out_len == 0 ? POLLIN : 0) | (r.in_len > 0 ? POLLOUT : 0);
		/* Not polled at all while nothing is wanted of it, or its hang-up would spin this loop. */
		if (fds[0].events == 0) fds[0].fd = -1;
		/* POLLERR/POLLHUP on stdout, asked for or not, mean its reader is gone: a detach. */
		fds[1].fd = STDOUT_FILENO;
		fds[1].events = r.out_len > 0 ? POLLOUT : 0;
		fds[2].fd = stdin_open && r.in_len == 0 ? input_fd : -1;
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

		if (r.out_len > 0 && (fds[1].revents & POLLOUT)) {
			ssize_t n = write(STDOUT_FILENO, r.out + r.out_off, r.out_len - r.out_off);
			if (n < 0 && !would_block(errno)) return is_detach_errno(errno) ? 0 : fail("write");
			if (n > 0) r.out_off += (size_t)n;
			if (r.out_off == r.out_len) r.out_len = r.out_off = 0;
		}
		if (sock_open && r.out_len == 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = recv(sock, msg, sizeof msg, 0);
			if (n < 0 && !would_block(errno)) {
				if (errno != ECONNRESET) return fail("recv");
				sock_open = 0;
			} else if (n == 0) {
				sock_open = 0;
			} else if (n > 0) {
				r.out_len = frame_message(&r, msg, (size_t)n, tty);
				r.out_off = 0;
			}
		}
		if (r.in_len > 0 && (fds[0].revents & (POLLOUT | POLLERR | POLLHUP))) {
			/* One read is one message: conmon reads at most STDIN_MESSAGE per message. */
			ssize_t n = send(sock, r.in, r.in_len, MSG_NOSIGNAL | MSG_DONTWAIT);
			if (n < 0 && !would_block(errno)) {
				/* conmon is gone: what it sent may still be unread, the rest has nowhere to go. */
				if (errno != EPIPE && errno != ECONNRESET) return fail("send");
				stdin_open = 0;
				r.in_len = 0;
			} else if (n > 0) {
				r.in_len = 0;
			}
		}
		if (stdin_open && r.in_len == 0 && (fds[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(input_fd, r.in, sizeof r.in);
			if (n < 0 && would_block(errno)) continue;
			if (n == 0 && input_fd == STDIN_FILENO && then_fd >= 0) {
				/* berthd handed over what it had read: the rest comes from the connection. */
				input_fd = then_fd;
				if (set_nonblocking(input_fd) < 0) return fail("fcntl");
			} else if (n <= 0) {
				stdin_open = 0;
				shutdown(sock, SHUT_WR);
			} else {
				r.in_len = (size_t)n;
			}
		}
	}
}
