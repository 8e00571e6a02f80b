/*
 * berth-vm-shim: the long-lived host side of a VM container, and of each exec in one.
 *
 *   berth-vm-shim run <state-dir>
 *   berth-vm-shim exec <state-dir> <base64 process spec> [<console-socket> <rows> <cols>]
 *
 * `berth-vm create` (Node) plans the VM and writes into the state directory what this program
 * executes: `qemu.argv` (QEMU's argv, NUL-separated, program first), `start.spec` (the START
 * payload, guest/agent/PROTOCOL.md) and `shim.conf` (`key=value` lines: boot_timeout_ms, cgroup
 * (repeatable: cgroup directories to join before QEMU starts), netns (the network namespace the
 * shim and QEMU run in) or own_netns=1 (a fresh one: --network none), console_socket (with -t: where the pty master goes, as crun does), console_size
 * (`<rows> <cols>`: the pty's first size)), and with a network, `release.ip`/`release.tc`
 * (`ip -batch`/`tc -batch` input that removes the taps and redirects once the VM is gone). It is C, not Node,
 * because it lives as long as the container: it must be small (one per VM), hand a pty over
 * SCM_RIGHTS, and set PR_SET_PDEATHSIG and PR_SET_THP_DISABLE for QEMU.
 *
 * run: its pid is the container's pid (conmon waits for it; its exit status is the container's).
 * It joins the container's cgroups, starts QEMU (which dies with it), waits for the agent's READY,
 * reports `ok` (or `error <message>`) on fd 3, then relays its stdio (conmon's pipes, or the pty)
 * to session 0 and answers requests on `ctl.sock`, one line each:
 *   start            -> `ok` once the process was executed, or `error <code> <message>`
 *   kill <signal>    -> `ok` (before start: ends the VM with 128+signal)
 *   resize <r> <c>   -> `ok`
 *   ps               -> `ok`, then the agent's process listing (PS_LIST), then close
 *   exec <base64>    -> `ok` once started (or `error <code> <message>`), then the connection
 *                       carries that session's frames (session id 0 on it; remapped here)
 * Its state goes to `shim.status` (replaced atomically): `<created|running|stopped> <pid|code>`
 * on the first line, an error message on the second.
 *
 * exec: asks the shim for an exec session and relays its stdio (or a pty) as that session's
 * frames; reports `ok <pid>`/`error <message>` on fd 3 and exits with the exec's exit status.
 * It forks first and goes on in the child, whose pid it reports: see main.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/close_range.h>
#include <sys/prctl.h>
#include <sys/random.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "netns-batch.h"
#include "read-file.h"

#include "../guest/agent/protocol.h"

#define HEADER FRAME_HEADER_BYTES
#define MAX_PAYLOAD FRAME_MAX_PAYLOAD
#define POWER_OFF_GRACE_MS 3000
#define MAX_CLIENTS 64
#define AGENT_SOCKET "agent.sock"
#define CONTROL_SOCKET "ctl.sock"
#define QMP_SOCKET "qmp.sock"

enum template_mode { T_NONE, T_BUILD, T_CLONE };
static enum template_mode template_mode = T_NONE;
/* The template this VM is restored from or saves (`<dir>/ram`: the guest's memory, `<dir>/state`:
 * its devices), and `<dir>.building`, where it is made before a rename publishes it. */
static char template_dir[2048], building_dir[2100];

/* The accelerator the plan chose (shim.conf's accel), for messages. */
static const char *accel_name = "";

/* ---------- small helpers ---------- */

static long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void log_line(const char *fmt, ...) {
	FILE *f = fopen("shim.log", "a");
	if (!f) return;
	time_t t = time(NULL);
	char stamp[32];
	strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	fprintf(f, "%s ", stamp);
	va_list ap;
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	fclose(f);
}

/* Write everything, waiting out EAGAIN on a non-blocking fd (conmon's pipes may be). */
static int write_all(int fd, const void *data, size_t len) {
	const unsigned char *p = data;
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR) continue;
			if (errno == EAGAIN) {
				struct pollfd pfd = { .fd = fd, .events = POLLOUT };
				poll(&pfd, 1, 100);
				continue;
			}
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static void put_u32(unsigned char *p, uint32_t v) {
	p[0] = (unsigned char)(v >> 24); p[1] = (unsigned char)(v >> 16); p[2] = (unsigned char)(v >> 8); p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p) {
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

/* One session's stdio on this side of the channel: output queued for a file descriptor that
 * may be slow (conmon's pipe, a pty), written without blocking and acknowledged to the agent
 * with WINDOW as it goes out; and how much of our stdin the agent has not acknowledged yet. */
struct output_queue {
	int fd;
	unsigned char *buf;
	size_t len, cap;
};

struct stream {
	struct output_queue out, err; /* with a tty both write to it */
	size_t written_unacked;       /* output written since our last WINDOW */
	size_t stdin_unacked;         /* STDIN sent that the agent has not acknowledged */
};

static void queue_output(struct output_queue *q, const unsigned char *data, size_t len) {
	if (q->cap - q->len < len) {
		size_t cap = q->cap ? q->cap : 65536;
		while (cap - q->len < len) cap *= 2;
		unsigned char *grown = realloc(q->buf, cap);
		/* Bounded by the window (and a process's last two pipe buffers): failing here is out of memory. */
		if (!grown) return;
		q->buf = grown;
		q->cap = cap;
	}
	memcpy(q->buf + q->len, data, len);
	q->len += len;
}

/* Write what the fd takes now; returns the bytes written. A reader that went away drops the rest. */
static size_t flush_output(struct output_queue *q) {
	size_t total = 0;
	while (q->len > 0) {
		ssize_t n = write(q->fd, q->buf, q->len);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0 && errno == EAGAIN) break;
		if (n <= 0) {
			total += q->len;
			q->len = 0;
			break;
		}
		memmove(q->buf, q->buf + n, q->len - (size_t)n);
		q->len -= (size_t)n;
		total += (size_t)n;
	}
	return total;
}

/* Where frames to an fd are queued instead of written at once (the shim's channel to the agent
 * and its exec clients: it must never block on either); NULL writes them directly. */
static struct output_queue *(*frame_queue_of)(int fd);

/* Send one frame. A payload over the frame limit is refused (EMSGSIZE), never split: a split
 * control frame (START, EXEC) would reach the agent as two malformed ones. */
static int send_frame(int fd, int type, uint32_t session, const void *payload, size_t len) {
	if (len > MAX_PAYLOAD) {
		errno = EMSGSIZE;
		return -1;
	}
	unsigned char header[HEADER] = { (unsigned char)type, 0, 0, 0 };
	put_u32(header + 4, session);
	put_u32(header + 8, (uint32_t)len);
	if (fd < 0) return -1;
	struct output_queue *queue = frame_queue_of ? frame_queue_of(fd) : NULL;
	if (queue) {
		queue_output(queue, header, HEADER);
		if (len) queue_output(queue, payload, len);
		flush_output(queue);
		return 0;
	}
	if (write_all(fd, header, HEADER) < 0 || (len && write_all(fd, payload, len) < 0)) return -1;
	return 0;
}

static int send_u32_frame(int fd, int type, uint32_t session, uint32_t value) {
	unsigned char payload[4];
	put_u32(payload, value);
	return send_frame(fd, type, session, payload, 4);
}

static int send_resize(int fd, uint32_t session, int tty) {
	struct winsize ws;
	if (ioctl(tty, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return 0;
	unsigned char payload[4] = { (unsigned char)(ws.ws_row >> 8), (unsigned char)ws.ws_row, (unsigned char)(ws.ws_col >> 8), (unsigned char)ws.ws_col };
	return send_frame(fd, F_RESIZE, session, payload, 4);
}

/* An incoming byte stream cut into frames. */
struct reader {
	unsigned char *buf;
	size_t len, cap;
};

/* Append what fd has; 0 on data, -1 on EOF or error. */
static int reader_fill(struct reader *r, int fd) {
	if (r->cap - r->len < 65536) {
		size_t cap = r->cap ? r->cap * 2 : 131072;
		while (cap - r->len < 65536) cap *= 2;
		unsigned char *grown = realloc(r->buf, cap);
		if (!grown) return -1;
		r->buf = grown;
		r->cap = cap;
	}
	ssize_t n;
	do n = read(fd, r->buf + r->len, r->cap - r->len); while (n < 0 && errno == EINTR);
	if (n <= 0) return n < 0 && errno == EAGAIN ? 0 : -1;
	r->len += (size_t)n;
	return 0;
}

/* The next whole frame, or 0 when more bytes are needed; -1 on a protocol error. */
static int reader_next(struct reader *r, int *type, uint32_t *session, unsigned char **payload, uint32_t *len, size_t *consumed) {
	if (r->len < HEADER) return 0;
	*len = get_u32(r->buf + 8);
	if (*len > MAX_PAYLOAD) return -1;
	if (r->len < HEADER + *len) return 0;
	*type = r->buf[0];
	*session = get_u32(r->buf + 4);
	*payload = r->buf + HEADER;
	*consumed = HEADER + *len;
	return 1;
}

static void reader_drop(struct reader *r, size_t n) {
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
}

/* Flush both queues and tell the agent (on fd, as session) what went out: a WINDOW per 32 KiB,
 * and one whenever the queues run dry. */
static void flush_stream(struct stream *st, int fd, uint32_t session) {
	st->written_unacked += flush_output(&st->out) + flush_output(&st->err);
	if (st->written_unacked == 0) return;
	if (st->written_unacked >= 32768 || (st->out.len == 0 && st->err.len == 0)) {
		unsigned char payload[4];
		put_u32(payload, (uint32_t)st->written_unacked);
		send_frame(fd, F_WINDOW, session, payload, 4);
		st->written_unacked = 0;
	}
}

/* Before exiting: everything queued goes out, waiting for the reader as long as it takes. */
static void drain_stream(struct stream *st) {
	struct output_queue *queues[2] = { &st->out, &st->err };
	for (int i = 0; i < 2; i++) {
		if (queues[i]->len == 0) continue;
		write_all(queues[i]->fd, queues[i]->buf, queues[i]->len);
		queues[i]->len = 0;
	}
}

/* How much stdin may be read now without going past the agent's window. */
static size_t stdin_room(const struct stream *st, size_t buffer) {
	if (st->stdin_unacked >= STREAM_WINDOW_BYTES) return 0;
	size_t room = STREAM_WINDOW_BYTES - st->stdin_unacked;
	return room < buffer ? room : buffer;
}

static void on_window(struct stream *st, const unsigned char *payload, uint32_t len) {
	if (len < 4) return;
	uint32_t n = get_u32(payload);
	st->stdin_unacked = n > st->stdin_unacked ? 0 : st->stdin_unacked - n;
}

static void set_nonblocking(int fd) {
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static int listen_unix(const char *path) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) return -1;
	return fd;
}

static int connect_unix(const char *path) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof addr.sun_path) {
		errno = ENAMETOOLONG;
		return -1;
	}
	strcpy(addr.sun_path, path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		int saved = errno;
		if (fd >= 0) close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/* The last few non-empty lines of a log file, joined with "; " (what QEMU or a panicking guest said). */
static void file_tail(const char *path, int lines, char *out, size_t out_len) {
	out[0] = 0;
	char *text = read_file(path, NULL);
	if (!text) return;
	char *starts[8];
	int count = 0;
	for (char *line = strtok(text, "\r\n"); line; line = strtok(NULL, "\r\n")) {
		while (*line == ' ' || *line == '\t') line++;
		if (!*line) continue;
		if (count == lines) {
			memmove(starts, starts + 1, sizeof(char *) * (size_t)(lines - 1));
			count--;
		}
		starts[count++] = line;
	}
	for (int i = 0; i < count; i++) {
		size_t used = strlen(out);
		snprintf(out + used, out_len - used, "%s%s", i ? "; " : "", starts[i]);
	}
	free(text);
}

/* Why the guest ended, from its console: the kernel's panic line when there is one (its last
 * lines are a stack trace), else the last few lines. Printk timestamps are dropped. */
static void console_reason(char *out, size_t out_len) {
	out[0] = 0;
	char *text = read_file("console.log", NULL);
	if (!text) return;
	const char *panic = NULL;
	for (char *at = strstr(text, "Kernel panic"); at; at = strstr(at + 1, "Kernel panic")) panic = at;
	if (panic) {
		size_t len = strcspn(panic, "\r\n");
		snprintf(out, out_len, "%.*s", (int)len, panic);
	} else {
		file_tail("console.log", 3, out, out_len);
	}
	free(text);
	/* "[    0.423887] message" -> "message" */
	char *src = out, *dst = out;
	while (*src) {
		if (*src == '[') {
			char *end = strchr(src, ']');
			if (end && strspn(src + 1, " 0123456789.") == (size_t)(end - src - 1)) {
				src = end + 1;
				while (*src == ' ') src++;
				continue;
			}
		}
		*dst++ = *src++;
	}
	*dst = 0;
}

/* Report once to the command that started us (fd 3), then close it so it stops waiting. */
static int report_fd = 3;
static void report(const char *fmt, ...) {
	if (report_fd < 0) return;
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	write_all(report_fd, line, strlen(line));
	close(report_fd);
	report_fd = -1;
}

/* A pty for -t: the master goes to the console socket (conmon), the slave becomes our
 * controlling terminal (so a resize there reaches us as SIGWINCH) and is made raw: the guest's
 * own pty does echo and line editing. Returns the slave, or -1. */
static int hand_over_pty(const char *console_socket, unsigned rows, unsigned cols, char *error, size_t error_len) {
	int master, slave;
	/* The size asked for at create (the spec's consoleSize), as crun sets it: resizes come later. */
	struct winsize size = { .ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols };
	if (openpty(&master, &slave, NULL, NULL, rows && cols ? &size : NULL) < 0) {
		snprintf(error, error_len, "cannot allocate a pty: %s", strerror(errno));
		return -1;
	}
	struct termios raw;
	if (tcgetattr(slave, &raw) == 0) {
		cfmakeraw(&raw);
		tcsetattr(slave, TCSANOW, &raw);
	}
	int sock = connect_unix(console_socket);
	if (sock < 0) {
		snprintf(error, error_len, "cannot connect to the console socket %s: %s", console_socket, strerror(errno));
		return -1;
	}
	char name[] = "/dev/ptmx";
	struct iovec iov = { .iov_base = name, .iov_len = sizeof name - 1 };
	union { struct cmsghdr align; char buf[CMSG_SPACE(sizeof(int))]; } control;
	memset(&control, 0, sizeof control);
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf };
	struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
	cmsg->cmsg_level = SOL_SOCKET;
	cmsg->cmsg_type = SCM_RIGHTS;
	cmsg->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cmsg), &master, sizeof(int));
	if (sendmsg(sock, &msg, 0) < 0) {
		snprintf(error, error_len, "cannot send the pty to the console socket: %s", strerror(errno));
		return -1;
	}
	close(sock);
	close(master);
	setsid();
	ioctl(slave, TIOCSCTTY, 0);
	fcntl(slave, F_SETFD, FD_CLOEXEC);
	return slave;
}

static int make_signalfd(const int *signals, int count) {
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

/* ---------- run: the container's shim ---------- */

enum client_kind { C_REQUEST, C_START, C_EXEC, C_PS };

struct client {
	int fd;
	enum client_kind kind;
	uint32_t session;      /* C_EXEC, C_PS: the session id on the agent's channel */
	int is_started;        /* C_EXEC: answered `ok` */
	char error[512];       /* C_EXEC: the agent's ERROR text before its EXIT */
	struct reader in;
	struct output_queue out; /* C_EXEC: frames for the exec's helper, written without blocking */
};

static struct {
	const char *netns;
	int agent, agent_listen, qmp_listen, qmp, ctl_listen, sigfd, stdin_fd, tty;
	struct reader agent_in; /* frames from the agent read while booting */
	pid_t qemu;
	int is_started, is_finishing, stdin_open;
	int exit_code;
	char error[1024];
	char start_error[512];
	long long finish_deadline;
	long long start_requested_ms;
	struct client clients[MAX_CLIENTS];
	int client_count;
	uint32_t next_session;
	struct stream main; /* session 0: the container's process */
	struct output_queue to_agent; /* frames for the agent, written without blocking */
} vm = { .agent = -1, .agent_listen = -1, .qmp_listen = -1, .qmp = -1, .ctl_listen = -1, .sigfd = -1, .stdin_fd = -1, .tty = -1, .next_session = 1 };

static void write_status(const char *state, long value, const char *error) {
	FILE *f = fopen("shim.status.tmp", "w");
	if (!f) return;
	fprintf(f, "%s %ld\n%s\n", state, value, error ? error : "");
	fflush(f);
	fclose(f);
	rename("shim.status.tmp", "shim.status");
}

static void drop_client(int index) {
	struct output_queue *out = &vm.clients[index].out;
	/* The last frames of an exec (its EXIT) go out before the connection closes; its helper
	 * always reads, so this waits for nothing but it. */
	if (out->len > 0) write_all(vm.clients[index].fd, out->buf, out->len);
	free(out->buf);
	close(vm.clients[index].fd);
	free(vm.clients[index].in.buf);
	vm.clients[index] = vm.clients[--vm.client_count];
}

static void reply(int index, const char *fmt, ...) {
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line - 1, fmt, ap);
	va_end(ap);
	strcat(line, "\n");
	write_all(vm.clients[index].fd, line, strlen(line));
}

static int find_client(enum client_kind kind, uint32_t session) {
	for (int i = 0; i < vm.client_count; i++) {
		if (vm.clients[i].kind == kind && (kind == C_START || vm.clients[i].session == session)) return i;
	}
	return -1;
}

/* Everything has been said: stop QEMU, undo the VM's network plumbing, leave the final state,
 * answer who waits, and exit. */
static void remove_tree(const char *dir);
static void __attribute__((noreturn)) end_shim(int code, const char *error) {
	/* The container's last output is ours alone now: it goes out before conmon hears the exit. */
	drain_stream(&vm.main);
	if (vm.qemu > 0) {
		kill(vm.qemu, SIGKILL);
		waitpid(vm.qemu, NULL, 0);
	}
	if (vm.netns && *vm.netns) {
		/* The taps and redirects go with the VM, not with `berth-vm delete`, which may come later. */
		/* The shim is in the namespace already (enter_network). */
		run_batch_in_netns(NULL, "/usr/sbin/ip", "release.ip");
		run_batch_in_netns(NULL, "/usr/sbin/tc", "release.tc");
		unlink("release.ip");
		unlink("release.tc");
		unlink("netns");
	}
	unlink(AGENT_SOCKET);
	unlink(CONTROL_SOCKET);
	unlink(QMP_SOCKET);
	/* A template this VM was making and did not publish (once published, the name is gone). */
	if (template_mode == T_BUILD) remove_tree(building_dir);
	for (int i = 0; i < vm.client_count; i++) {
		if (vm.clients[i].kind == C_START) reply(i, "error %d %s", code, error && *error ? error : "the container stopped");
		if (vm.clients[i].kind == C_PS) reply(i, "error 1 the container stopped");
		close(vm.clients[i].fd);
	}
	write_status("stopped", code, error);
	log_line("stopped: exit %d%s%s", code, error && *error ? ": " : "", error ? error : "");
	_exit(code);
}

/* The container's process is done (or never will be): power the guest off, wait for QEMU. */
static void finish(int code, const char *error) {
	if (vm.is_finishing) return;
	vm.is_finishing = 1;
	vm.exit_code = code;
	if (error) snprintf(vm.error, sizeof vm.error, "%s", error);
	send_frame(vm.agent, F_POWEROFF, 0, NULL, 0);
	vm.finish_deadline = now_ms() + POWER_OFF_GRACE_MS;
}

static void on_qemu_exit(void) {
	vm.qemu = 0;
	if (vm.is_finishing) end_shim(vm.exit_code, vm.error);
	char tail[768], error[1024];
	console_reason(tail, sizeof tail);
	snprintf(error, sizeof error, "the VM ended without the container's exit status%s%s", *tail ? ": " : "", tail);
	end_shim(255, error);
}

static void handle_agent_frame(int type, uint32_t session, const unsigned char *payload, uint32_t len) {
	if (type == F_PS_LIST) {
		int index = find_client(C_PS, session);
		if (index >= 0) {
			reply(index, "ok");
			write_all(vm.clients[index].fd, payload, len);
			drop_client(index);
		}
		return;
	}
	if (session != 0) {
		int index = find_client(C_EXEC, session);
		if (index < 0) return;
		struct client *c = &vm.clients[index];
		if (!c->is_started) {
			if (type == F_STARTED) {
				c->is_started = 1;
				reply(index, "ok");
			} else if (type == F_ERROR) {
				snprintf(c->error, sizeof c->error, "%.*s", (int)len, payload);
			} else if (type == F_EXIT && len >= 4) {
				reply(index, "error %u %s", get_u32(payload), *c->error ? c->error : "exec failed");
				drop_client(index);
			}
			return;
		}
		send_frame(c->fd, type, 0, payload, len);
		if (type == F_EXIT) drop_client(index);
		return;
	}
	switch (type) {
	case F_STDOUT:
		queue_output(&vm.main.out, payload, len);
		flush_stream(&vm.main, vm.agent, 0);
		break;
	case F_STDERR:
		queue_output(&vm.main.err, payload, len);
		flush_stream(&vm.main, vm.agent, 0);
		break;
	case F_WINDOW:
		on_window(&vm.main, payload, len);
		break;
	case F_STARTED: {
		log_line("started in %lld ms", now_ms() - vm.start_requested_ms);
		vm.is_started = 1;
		vm.stdin_open = 1;
		write_status("running", getpid(), NULL);
		int index = find_client(C_START, 0);
		if (index >= 0) {
			reply(index, "ok");
			drop_client(index);
		}
		if (vm.tty >= 0) send_resize(vm.agent, 0, vm.tty);
		break;
	}
	case F_ERROR:
		snprintf(vm.start_error, sizeof vm.start_error, "%.*s", (int)len, payload);
		break;
	case F_EXIT: {
		if (len < 4) break;
		int code = (int)get_u32(payload);
		int index = find_client(C_START, 0);
		if (index >= 0) {
			if (*vm.start_error) reply(index, "error %d %s", code, vm.start_error);
			else reply(index, "error %d exit status %d", code, code);
			drop_client(index);
		}
		finish(code, NULL);
		break;
	}
	default:
		break;
	}
}

/* START's fields that are made when it is sent (guest/agent/PROTOCOL.md): random bytes for the
 * guest's RNG and the wall clock. A guest restored from a template has the template's RNG state
 * and clock until it takes them; a cold boot's RNG is ready at once. NULL on failure. */
static char *append_fresh_fields(char *spec, size_t *len) {
	unsigned char seed[32];
	if (getrandom(seed, sizeof seed, 0) != (ssize_t)sizeof seed) {
		free(spec);
		return NULL;
	}
	char fields[160];
	int at = snprintf(fields, sizeof fields, "seed=");
	for (size_t i = 0; i < sizeof seed; i++) at += snprintf(fields + at, sizeof fields - (size_t)at, "%02x", seed[i]);
	explicit_bzero(seed, sizeof seed);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	at += 1 + snprintf(fields + at + 1, sizeof fields - (size_t)at - 1, "time=%lld.%09ld", (long long)now.tv_sec, now.tv_nsec);
	char *grown = realloc(spec, *len + (size_t)at + 1);
	if (!grown) {
		free(spec);
		return NULL;
	}
	memcpy(grown + *len, fields, (size_t)at + 1);
	*len += (size_t)at + 1;
	return grown;
}

/* One request line from a control connection (see the top of the file). */
static void handle_request(int index, char *line) {
	struct client *c = &vm.clients[index];
	char *rest = strchr(line, ' ');
	if (rest) *rest++ = 0;
	if (!strcmp(line, "start")) {
		if (vm.is_started || vm.is_finishing || find_client(C_START, 0) >= 0) {
			reply(index, "error 1 container is not in the created state");
			drop_client(index);
			return;
		}
		size_t len;
		char *spec = read_file("start.spec", &len);
		if (!spec || !(spec = append_fresh_fields(spec, &len))) {
			reply(index, "error 1 cannot read start.spec: %s", strerror(errno));
			drop_client(index);
			return;
		}
		if (len > MAX_PAYLOAD) {
			reply(index, "error 126 the container's process spec (arguments, environment, mounts) is %zu bytes, over the VM channel's limit of %d", len, MAX_PAYLOAD);
			free(spec);
			drop_client(index);
			return;
		}
		c->kind = C_START;
		vm.start_requested_ms = now_ms();
		send_frame(vm.agent, F_START, 0, spec, len);
		free(spec);
	} else if (!strcmp(line, "kill") && rest) {
		int signal = atoi(rest);
		reply(index, "ok");
		drop_client(index);
		/* Nothing runs in the VM yet: ending it is the whole kill. */
		if (!vm.is_started) finish(128 + signal, NULL);
		else send_u32_frame(vm.agent, F_SIGNAL, 0, (uint32_t)signal);
	} else if (!strcmp(line, "resize") && rest) {
		unsigned rows = 0, cols = 0;
		sscanf(rest, "%u %u", &rows, &cols);
		unsigned char payload[4] = { (unsigned char)(rows >> 8), (unsigned char)rows, (unsigned char)(cols >> 8), (unsigned char)cols };
		send_frame(vm.agent, F_RESIZE, 0, payload, 4);
		reply(index, "ok");
		drop_client(index);
	} else if (!strcmp(line, "ps")) {
		if (!vm.is_started || vm.is_finishing) {
			reply(index, "error 1 container is not running");
			drop_client(index);
			return;
		}
		/* A session id of its own: the answer (PS_LIST) comes back under it. */
		c->kind = C_PS;
		c->session = vm.next_session++;
		send_frame(vm.agent, F_PS, c->session, NULL, 0);
	} else if (!strcmp(line, "exec") && rest) {
		if (!vm.is_started || vm.is_finishing) {
			reply(index, "error 1 container is not running");
			drop_client(index);
			return;
		}
		/* base64 to bytes */
		size_t in_len = strlen(rest), out_len = 0;
		unsigned char *spec = malloc(in_len / 4 * 3 + 3);
		uint32_t acc = 0;
		int bits = 0;
		for (size_t i = 0; i < in_len; i++) {
			int v;
			char ch = rest[i];
			if (ch >= 'A' && ch <= 'Z') v = ch - 'A';
			else if (ch >= 'a' && ch <= 'z') v = ch - 'a' + 26;
			else if (ch >= '0' && ch <= '9') v = ch - '0' + 52;
			else if (ch == '+') v = 62;
			else if (ch == '/') v = 63;
			else continue;
			acc = (acc << 6) | (uint32_t)v;
			bits += 6;
			if (bits >= 8) {
				bits -= 8;
				spec[out_len++] = (unsigned char)(acc >> bits);
			}
		}
		if (out_len > MAX_PAYLOAD) {
			reply(index, "error 126 the exec's process spec (arguments, environment) is %zu bytes, over the VM channel's limit of %d", out_len, MAX_PAYLOAD);
			free(spec);
			drop_client(index);
			return;
		}
		c->kind = C_EXEC;
		c->session = vm.next_session++;
		send_frame(vm.agent, F_EXEC, c->session, spec, out_len);
		free(spec);
	} else {
		reply(index, "error 1 unknown request %s", line);
		drop_client(index);
	}
}

/* Data on a control connection: a request line, or an exec session's frames. */
static void on_client_readable(int index) {
	struct client *c = &vm.clients[index];
	if (reader_fill(&c->in, c->fd) < 0) {
		/* The exec's host side went away: end its process rather than leave it orphaned. */
		if (c->kind == C_EXEC) send_u32_frame(vm.agent, F_SIGNAL, c->session, 9);
		drop_client(index);
		return;
	}
	if (c->kind == C_REQUEST) {
		char *newline = memchr(c->in.buf, '\n', c->in.len);
		if (!newline) {
			if (c->in.len > 1 << 20) drop_client(index);
			return;
		}
		*newline = 0;
		size_t consumed = (size_t)(newline - (char *)c->in.buf) + 1;
		char *line = strdup((char *)c->in.buf);
		reader_drop(&c->in, consumed);
		handle_request(index, line);
		free(line);
		return;
	}
	if (c->kind != C_EXEC) return;
	int type;
	uint32_t session, len;
	unsigned char *payload;
	size_t consumed;
	int got;
	while ((got = reader_next(&c->in, &type, &session, &payload, &len, &consumed)) > 0) {
		send_frame(vm.agent, type, c->session, payload, len);
		reader_drop(&c->in, consumed);
	}
	if (got < 0) {
		send_u32_frame(vm.agent, F_SIGNAL, c->session, 9);
		drop_client(index);
	}
}

static void read_conf(char *conf, char **cgroups, int *cgroup_count, char **netns, int *is_own_netns, char **console_socket, long *boot_timeout_ms, unsigned *rows, unsigned *cols) {
	for (char *line = strtok(conf, "\n"); line; line = strtok(NULL, "\n")) {
		char *value = strchr(line, '=');
		if (!value) continue;
		*value++ = 0;
		if (!strcmp(line, "cgroup") && *cgroup_count < 16) cgroups[(*cgroup_count)++] = value;
		else if (!strcmp(line, "netns")) *netns = value;
		else if (!strcmp(line, "own_netns")) *is_own_netns = !strcmp(value, "1");
		else if (!strcmp(line, "console_socket")) *console_socket = value;
		else if (!strcmp(line, "boot_timeout_ms")) *boot_timeout_ms = atol(value);
		else if (!strcmp(line, "console_size")) sscanf(value, "%u %u", rows, cols);
		else if (!strcmp(line, "accel")) accel_name = value;
		else if (!strcmp(line, "template_build")) { snprintf(template_dir, sizeof template_dir, "%s", value); template_mode = T_BUILD; }
		else if (!strcmp(line, "template_clone")) { snprintf(template_dir, sizeof template_dir, "%s", value); template_mode = T_CLONE; }
	}
}

/* QEMU's argv from one of the plan's argv files (NUL-separated). */
static char **read_argv(const char *name) {
	size_t len;
	char *text = read_file(name, &len);
	if (!text || len == 0) return NULL;
	size_t count = 0;
	for (size_t i = 0; i < len; i++) count += text[i] == 0;
	char **argv = calloc(count + 2, sizeof(char *));
	size_t n = 0;
	for (size_t i = 0; i < len; i += strlen(text + i) + 1) argv[n++] = text + i;
	argv[n] = NULL;
	return argv;
}

/* Join the container's network namespace (QEMU opens its taps there, and the container's pid,
 * ours, shows its counters to `stats`), or a fresh one for --network none. */
static int enter_network(const char *netns, int is_own_netns, char *error, size_t error_len) {
	if (netns && *netns) {
		int fd = open(netns, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0) {
			snprintf(error, error_len, "cannot enter the network namespace %s: %s", netns, strerror(errno));
			return -1;
		}
		close(fd);
	} else if (is_own_netns && unshare(CLONE_NEWNET) < 0) {
		snprintf(error, error_len, "cannot make a network namespace: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static pid_t start_qemu(char **argv, char *error, size_t error_len) {
	int log = open("qemu.log", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		snprintf(error, error_len, "cannot fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) _exit(1);
		/* Guest RAM in 4 KiB pages: with THP every page the guest touches costs 2 MiB of host memory. */
		prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		if (log >= 0) dup2(log, 2);
		/* Nothing else of ours reaches QEMU: above all not fd 3, whose close tells create we are ready. */
		close_range(3, ~0U, 0);
		execv(argv[0], argv);
		dprintf(2, "cannot run %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	if (log >= 0) close(log);
	return pid;
}

/* The reason QEMU ended during boot: its own last words, else the guest console's. */
static void boot_failure(char *error, size_t error_len) {
	char tail[768];
	file_tail("qemu.log", 2, tail, sizeof tail);
	if (!*tail) console_reason(tail, sizeof tail);
	snprintf(error, error_len, "QEMU exited during boot%s%s%s: %s", *accel_name ? " (accelerator " : "", accel_name, *accel_name ? ")" : "", *tail ? tail : "the guest printed nothing (it ended before its console was up: a kernel panic early in boot, or an initramfs without an init)");
}

/* ---------- templates: a booted guest saved once, restored by each VM of its shape ---------- */


/* Remove a template directory: its files (no subdirectories), then itself. */
static void remove_tree(const char *dir) {
	if (!*dir) return;
	const char *names[] = { "ram", "state", "made" };
	char path[2300];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

static void write_template_failure(const char *dir, const char *reason) {
	char path[2300];
	snprintf(path, sizeof path, "%s.failed", dir);
	FILE *f = fopen(path, "w");
	if (!f) return;
	fprintf(f, "%s\n", reason);
	fclose(f);
}

/* QEMU's monitor (QMP), one JSON object a line; QEMU connects to qmp.sock as the agent's channel does. */
static struct reader qmp_in;

/* The next line from QMP into line (NUL-terminated), waiting until deadline; -1 on EOF or timeout. */
static int qmp_line(char *line, size_t line_len, long long deadline) {
	for (;;) {
		char *newline = qmp_in.len ? memchr(qmp_in.buf, '\n', qmp_in.len) : NULL;
		if (newline) {
			size_t n = (size_t)(newline - (char *)qmp_in.buf);
			snprintf(line, line_len, "%.*s", (int)n, (char *)qmp_in.buf);
			reader_drop(&qmp_in, n + 1);
			return 0;
		}
		long long left = deadline - now_ms();
		if (left <= 0) return -1;
		struct pollfd pfd = { .fd = vm.qmp, .events = POLLIN };
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR) return -1;
		if (pfd.revents && reader_fill(&qmp_in, vm.qmp) < 0) return -1;
	}
}

/* Why QEMU stopped answering: its own last words, when it has ended. */
static void qmp_failure(const char *what, char *error, size_t error_len) {
	char tail[768] = "";
	/* A QEMU that closed its monitor is usually exiting: a moment for it, to say why. */
	for (int tries = 0; vm.qemu > 0 && tries < 50; tries++) {
		if (waitpid(vm.qemu, NULL, WNOHANG) == vm.qemu) {
			vm.qemu = 0;
			file_tail("qemu.log", 2, tail, sizeof tail);
			break;
		}
		usleep(10000);
	}
	snprintf(error, error_len, "QEMU %s%s%s", what, *tail ? ": " : "", tail);
}

/* Run one QMP command; 0 with its `return` line in reply, -1 with QEMU's error in error. */
static int qmp_command(const char *command, char *reply, size_t reply_len, long long deadline, char *error, size_t error_len) {
	char line[8192];
	if (write_all(vm.qmp, command, strlen(command)) < 0 || write_all(vm.qmp, "\n", 1) < 0) {
		qmp_failure("closed its monitor", error, error_len);
		return -1;
	}
	for (;;) {
		if (qmp_line(line, sizeof line, deadline) < 0) {
			qmp_failure("did not answer its monitor", error, error_len);
			return -1;
		}
		if (strstr(line, "\"event\"")) continue;
		if (strstr(line, "\"return\"")) {
			if (reply) snprintf(reply, reply_len, "%s", line);
			return 0;
		}
		const char *desc = strstr(line, "\"desc\": \"");
		if (desc) {
			desc += 9;
			snprintf(error, error_len, "QEMU refused %.*s: %.*s", (int)strcspn(command + 14, "\""), command + 14, (int)strcspn(desc, "\""), desc);
		} else {
			snprintf(error, error_len, "QEMU answered %.200s", line);
		}
		return -1;
	}
}

/* Accept QEMU's monitor connection and leave its greeting behind us. */
static int qmp_open(long long deadline, char *error, size_t error_len) {
	while (vm.qmp < 0) {
		long long left = deadline - now_ms();
		struct pollfd pfd = { .fd = vm.qmp_listen, .events = POLLIN };
		if (left <= 0 || (poll(&pfd, 1, left > 100 ? 100 : (int)left) < 0 && errno != EINTR)) {
			qmp_failure("did not open its monitor", error, error_len);
			return -1;
		}
		if (pfd.revents) vm.qmp = accept4(vm.qmp_listen, NULL, NULL, SOCK_CLOEXEC);
		else if (vm.qemu > 0 && waitpid(vm.qemu, NULL, WNOHANG) == vm.qemu) {
			vm.qemu = 0;
			char tail[768];
			file_tail("qemu.log", 2, tail, sizeof tail);
			snprintf(error, error_len, "QEMU exited: %s", *tail ? tail : "(it said nothing)");
			return -1;
		}
	}
	char line[4096];
	if (qmp_line(line, sizeof line, deadline) < 0) {
		qmp_failure("did not greet on its monitor", error, error_len);
		return -1;
	}
	return qmp_command("{\"execute\":\"qmp_capabilities\"}", NULL, 0, deadline, error, error_len);
}

static void qmp_close(void) {
	if (vm.qmp >= 0) close(vm.qmp);
	vm.qmp = -1;
	qmp_in.len = 0;
}

/* Close connections waiting on a listener: a QEMU that is gone may have left one, which the next
 * QEMU's boot would otherwise take for its own. */
static void drop_pending(int listen_fd) {
	struct pollfd pfd = { .fd = listen_fd, .events = POLLIN };
	while (listen_fd >= 0 && poll(&pfd, 1, 0) > 0 && (pfd.revents & POLLIN)) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0) break;
		close(fd);
	}
}

/* The guest and QEMU go: after a failed boot or restore, before the next try. */
static void stop_qemu(void) {
	qmp_close();
	if (vm.qemu > 0) {
		kill(vm.qemu, SIGKILL);
		waitpid(vm.qemu, NULL, 0);
	}
	vm.qemu = 0;
	if (vm.agent >= 0) close(vm.agent);
	vm.agent = -1;
	vm.agent_in.len = 0;
	drop_pending(vm.agent_listen);
	drop_pending(vm.qmp_listen);
}

/* Wait for the agent's READY (asking for it with HELLO first when the guest was restored). */
static int wait_for_ready(long long deadline, long timeout_ms, int is_hello, char *error, size_t error_len) {
	for (;;) {
		struct pollfd pfds[2] = { { .fd = vm.sigfd, .events = POLLIN }, { .fd = vm.agent >= 0 ? vm.agent : vm.agent_listen, .events = POLLIN } };
		long long left = deadline - now_ms();
		if (left <= 0) {
			snprintf(error, error_len, "the guest agent did not answer within %ld s%s%s%s", timeout_ms / 1000, *accel_name ? " (" : "", accel_name, *accel_name ? ")" : "");
			return -1;
		}
		if (poll(pfds, 2, (int)left) < 0 && errno != EINTR) {
			snprintf(error, error_len, "poll: %s", strerror(errno));
			return -1;
		}
		if (pfds[0].revents) {
			struct signalfd_siginfo info;
			while (read(vm.sigfd, &info, sizeof info) > 0) {
			}
			if (waitpid(vm.qemu, NULL, WNOHANG) == vm.qemu) {
				vm.qemu = 0;
				boot_failure(error, error_len);
				return -1;
			}
		}
		if (!pfds[1].revents) continue;
		if (vm.agent < 0) {
			vm.agent = accept4(vm.agent_listen, NULL, NULL, SOCK_CLOEXEC);
			if (vm.agent >= 0 && is_hello) send_frame(vm.agent, F_HELLO, 0, NULL, 0);
			continue;
		}
		if (reader_fill(&vm.agent_in, vm.agent) < 0) {
			/* QEMU closed the channel: it is ending; its exit tells why. */
			waitpid(vm.qemu, NULL, 0);
			vm.qemu = 0;
			boot_failure(error, error_len);
			return -1;
		}
		int type;
		uint32_t session, len;
		unsigned char *payload;
		size_t consumed;
		while (reader_next(&vm.agent_in, &type, &session, &payload, &len, &consumed) > 0) {
			reader_drop(&vm.agent_in, consumed);
			if (type == F_READY) return 0;
		}
	}
}

/* Start QEMU from argv and wait for the agent's READY; on failure nothing of it is left. */
static int boot_and_wait(char **argv, long long deadline, long timeout_ms, char *error, size_t error_len) {
	vm.qemu = start_qemu(argv, error, error_len);
	if (vm.qemu < 0) {
		vm.qemu = 0;
		return -1;
	}
	if (wait_for_ready(deadline, timeout_ms, 0, error, error_len) < 0) {
		stop_qemu();
		return -1;
	}
	return 0;
}

/* The guest that just said READY, saved as the template: paused, its devices' state written to
 * `<building>/state` (x-ignore-shared: its RAM is the shared file `<building>/ram` already), QEMU
 * ended, and the directory published under the template's name. */
static int save_template(const char *dir, char *error, size_t error_len) {
	long long deadline = now_ms() + 20000;
	char uri_command[4600], reply[8192];
	snprintf(uri_command, sizeof uri_command, "{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"exec:cat > '%s/state'\"}}", building_dir);
	if (qmp_open(deadline, error, error_len) < 0 ||
	    qmp_command("{\"execute\":\"stop\"}", NULL, 0, deadline, error, error_len) < 0 ||
	    qmp_command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}", NULL, 0, deadline, error, error_len) < 0 ||
	    qmp_command(uri_command, NULL, 0, deadline, error, error_len) < 0)
		return -1;
	for (;;) {
		if (qmp_command("{\"execute\":\"query-migrate\"}", reply, sizeof reply, deadline, error, error_len) < 0) return -1;
		if (strstr(reply, "\"completed\"")) break;
		if (strstr(reply, "\"failed\"") || strstr(reply, "\"cancelled\"")) {
			const char *why = strstr(reply, "\"error-desc\": \"");
			snprintf(error, error_len, "QEMU could not save the guest: %.*s", why ? (int)strcspn(why + 15, "\"") : 20, why ? why + 15 : "(no reason given)");
			return -1;
		}
		usleep(5000);
	}
	/* Everything is in the files: the RAM file is a shared mapping, the state was written by cat. */
	stop_qemu();
	char made[2300];
	snprintf(made, sizeof made, "%s/made", building_dir);
	FILE *f = fopen(made, "w");
	if (f) {
		fprintf(f, "%lld\n", (long long)time(NULL));
		fclose(f);
	}
	if (rename(building_dir, dir) < 0) {
		int saved = errno;
		remove_tree(building_dir);
		snprintf(error, error_len, "cannot publish the template at %.900s: %s", dir, strerror(saved));
		return -1;
	}
	return 0;
}

/* A template that did not restore goes (a clone that has it mapped keeps its pages); the next VM
 * of its shape makes a new one. Renamed first, so no VM picks it up half-removed. */
static void discard_template(const char *dir) {
	char doomed[2300];
	snprintf(doomed, sizeof doomed, "%s.discarded.%d", dir, (int)getpid());
	if (rename(dir, doomed) == 0) remove_tree(doomed);
}

/* A template guest that could not be saved goes on as this container's VM. */
static int resume_unsaved(char *error, size_t error_len) {
	int rc = -1;
	if (vm.qmp >= 0 && vm.qemu > 0) rc = qmp_command("{\"execute\":\"cont\"}", NULL, 0, now_ms() + 10000, error, error_len);
	else snprintf(error, error_len, "QEMU is gone");
	qmp_close();
	/* Its memory stays mapped in QEMU; the name goes with the half-made template. */
	remove_tree(building_dir);
	return rc;
}

/* A new QEMU whose guest is the template's: its RAM mapped copy-on-write over `<dir>/ram`
 * (clone.argv has share=off), its devices' state loaded from `<dir>/state`, resumed, and asked
 * for READY. On failure nothing of it is left and the caller boots cold. */
static int start_clone(const char *dir, long timeout_ms, char *error, size_t error_len) {
	char **argv = read_argv("clone.argv");
	if (!argv) {
		snprintf(error, error_len, "the VM plan has no clone.argv");
		return -1;
	}
	long long deadline = now_ms() + timeout_ms;
	vm.qemu = start_qemu(argv, error, error_len);
	if (vm.qemu < 0) {
		vm.qemu = 0;
		return -1;
	}
	char incoming[4600], reply[8192];
	snprintf(incoming, sizeof incoming, "{\"execute\":\"migrate-incoming\",\"arguments\":{\"uri\":\"exec:cat '%s/state'\"}}", dir);
	if (qmp_open(deadline, error, error_len) < 0 ||
	    qmp_command("{\"execute\":\"migrate-set-capabilities\",\"arguments\":{\"capabilities\":[{\"capability\":\"x-ignore-shared\",\"state\":true}]}}", NULL, 0, deadline, error, error_len) < 0 ||
	    qmp_command(incoming, NULL, 0, deadline, error, error_len) < 0) {
		stop_qemu();
		return -1;
	}
	for (;;) {
		if (qmp_command("{\"execute\":\"query-status\"}", reply, sizeof reply, deadline, error, error_len) < 0) {
			stop_qemu();
			return -1;
		}
		if (!strstr(reply, "\"inmigrate\"")) break;
		usleep(2000);
	}
	/* The template was paused when it was saved, and so is its clone: resume it. */
	if (qmp_command("{\"execute\":\"cont\"}", NULL, 0, deadline, error, error_len) < 0) {
		stop_qemu();
		return -1;
	}
	qmp_close();
	if (wait_for_ready(deadline, timeout_ms, 1, error, error_len) < 0) {
		stop_qemu();
		return -1;
	}
	return 0;
}

static struct output_queue *shim_queue_of(int fd) {
	if (fd == vm.agent) return &vm.to_agent;
	for (int i = 0; i < vm.client_count; i++) {
		if (vm.clients[i].fd == fd && vm.clients[i].kind == C_EXEC) return &vm.clients[i].out;
	}
	return NULL;
}

static int run_shim(const char *dir) {
	char error[1024] = "";
	if (chdir(dir) < 0) {
		report("error cannot enter %s: %s", dir, strerror(errno));
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	char *conf = read_file("shim.conf", NULL);
	char **qemu_argv = read_argv("qemu.argv");
	if (!conf || !qemu_argv) {
		report("error the VM plan in %s is incomplete", dir);
		return 1;
	}
	char *cgroups[16], *netns = NULL, *console_socket = NULL;
	int cgroup_count = 0;
	long boot_timeout_ms = 40000;
	unsigned console_rows = 0, console_cols = 0;
	int is_own_netns = 0;
	read_conf(conf, cgroups, &cgroup_count, &netns, &is_own_netns, &console_socket, &boot_timeout_ms, &console_rows, &console_cols);
	if (*template_dir) snprintf(building_dir, sizeof building_dir, "%s.building", template_dir);
	vm.netns = netns;

	/* Before QEMU starts, so it is born in the container's cgroups (placement is for
	 * accounting: the VM's size is its limit). A hierarchy that refuses is skipped. */
	for (int i = 0; i < cgroup_count; i++) {
		char path[4096];
		mkdir(cgroups[i], 0755);
		snprintf(path, sizeof path, "%s/cgroup.procs", cgroups[i]);
		int fd = open(path, O_WRONLY | O_CLOEXEC);
		if (fd >= 0) {
			dprintf(fd, "%d\n", getpid());
			close(fd);
		}
	}
	int signals[] = { SIGCHLD, SIGWINCH };
	vm.sigfd = make_signalfd(signals, 2);
	if (console_socket && *console_socket) {
		vm.tty = hand_over_pty(console_socket, console_rows, console_cols, error, sizeof error);
		if (vm.tty < 0) {
			report("error %s", error);
			return 1;
		}
	}
	vm.agent_listen = listen_unix(AGENT_SOCKET);
	vm.ctl_listen = listen_unix(CONTROL_SOCKET);
	/* A template's or clone's QEMU has a monitor, through which it is saved or restored. */
	if (*template_dir) vm.qmp_listen = listen_unix(QMP_SOCKET);
	if (vm.agent_listen < 0 || vm.ctl_listen < 0 || (*template_dir && vm.qmp_listen < 0)) {
		report("error cannot listen in %s: %s", dir, strerror(errno));
		return 1;
	}
	long long boot_start = now_ms();
	if (enter_network(netns, is_own_netns, error, sizeof error) < 0) {
		report("error %s", error);
		end_shim(1, error);
	}
	int is_ready = 0;
	const char *how = "booted";
	if (*template_dir && template_mode == T_CLONE) {
		is_ready = start_clone(template_dir, boot_timeout_ms, error, sizeof error) == 0;
		if (is_ready) {
			how = "restored from the template";
		} else {
			log_line("template %s cannot serve: %s; cold boot", template_dir, error);
			discard_template(template_dir);
		}
	} else if (*template_dir && template_mode == T_BUILD) {
		char **template_argv = read_argv("template.argv");
		if (!template_argv) {
			log_line("template %s not made: the VM plan has no template.argv; cold boot", template_dir);
			remove_tree(building_dir);
		} else if (boot_and_wait(template_argv, boot_start + boot_timeout_ms, boot_timeout_ms, error, sizeof error) < 0) {
			/* The guest itself did not come up: a cold boot would fail the same way. */
			remove_tree(building_dir);
			log_line("boot failed: %s", error);
			report("error %s", error);
			end_shim(1, error);
		} else if (save_template(template_dir, error, sizeof error) == 0) {
			log_line("template %s saved in %lld ms", template_dir, now_ms() - boot_start);
			is_ready = start_clone(template_dir, boot_timeout_ms, error, sizeof error) == 0;
			if (is_ready) {
				how = "booted as the template and restored from it";
			} else {
				/* Saved but not restorable here: not tried again for a while (the .failed file). */
				log_line("template %s cannot serve: %s; cold boot", template_dir, error);
				discard_template(template_dir);
				write_template_failure(template_dir, error);
			}
		} else {
			/* The guest is up: it goes on as this container's, booted cold. */
			log_line("template %s not saved: %s; this VM goes on booted cold", template_dir, error);
			write_template_failure(template_dir, error);
			is_ready = resume_unsaved(error, sizeof error) == 0;
			if (!is_ready) {
				log_line("the unsaved template guest did not go on: %s; cold boot", error);
				stop_qemu();
			}
		}
	}
	if (!is_ready) {
		long long cold_start = now_ms();
		if (boot_and_wait(qemu_argv, cold_start + boot_timeout_ms, boot_timeout_ms, error, sizeof error) < 0) {
			log_line("boot failed: %s", error);
			report("error %s", error);
			end_shim(1, error);
		}
	}
	close(vm.agent_listen);
	vm.agent_listen = -1;
	log_line("%s in %lld ms", how, now_ms() - boot_start);
	write_status("created", getpid(), NULL);
	report("ok");

	/* Running: frames from the agent, requests on the control socket, our stdin. */
	struct reader agent_in = vm.agent_in;
	vm.stdin_fd = vm.tty >= 0 ? vm.tty : 0;
	vm.main.out.fd = vm.tty >= 0 ? vm.tty : 1;
	vm.main.err.fd = vm.tty >= 0 ? vm.tty : 2;
	/* A slow reader of the container's output holds back that output only, never the agent's
	 * channel (exec sessions, signals, the exit). */
	set_nonblocking(vm.main.out.fd);
	set_nonblocking(vm.main.err.fd);
	/* Nor on the agent or an exec's helper: each of them blocks writing to us while we write to
	 * it, so we queue what they cannot take yet and always read. */
	set_nonblocking(vm.agent);
	vm.to_agent.fd = vm.agent;
	frame_queue_of = shim_queue_of;
	unsigned char stdin_buf[32768];
	for (;;) {
		struct pollfd pfds[6 + MAX_CLIENTS];
		int n = 0;
		size_t room = stdin_room(&vm.main, sizeof stdin_buf);
		pfds[n++] = (struct pollfd){ .fd = vm.sigfd, .events = POLLIN };
		pfds[n++] = (struct pollfd){ .fd = vm.agent, .events = POLLIN | (vm.to_agent.len > 0 ? POLLOUT : 0) };
		pfds[n++] = (struct pollfd){ .fd = vm.ctl_listen, .events = POLLIN };
		/* Stdin only while the agent's window is open: a process that does not read it stops us
		 * reading, and conmon, berthd and the client feel it, not the other sessions. */
		pfds[n++] = (struct pollfd){ .fd = vm.stdin_open && !vm.is_finishing && room > 0 ? vm.stdin_fd : -1, .events = POLLIN };
		pfds[n++] = (struct pollfd){ .fd = vm.main.out.len > 0 ? vm.main.out.fd : -1, .events = POLLOUT };
		pfds[n++] = (struct pollfd){ .fd = vm.main.err.len > 0 ? vm.main.err.fd : -1, .events = POLLOUT };
		int first_client = n;
		for (int i = 0; i < vm.client_count; i++) pfds[n++] = (struct pollfd){ .fd = vm.clients[i].fd, .events = POLLIN | (vm.clients[i].out.len > 0 ? POLLOUT : 0) };
		int timeout = -1;
		if (vm.is_finishing) {
			long long left = vm.finish_deadline - now_ms();
			if (left <= 0) end_shim(vm.exit_code, vm.error);
			timeout = (int)left;
		}
		if (poll(pfds, (nfds_t)n, timeout) < 0) {
			if (errno == EINTR) continue;
			end_shim(255, "poll failed");
		}
		if (pfds[0].revents) {
			struct signalfd_siginfo info;
			int is_resized = 0;
			while (read(vm.sigfd, &info, sizeof info) > 0) is_resized |= info.ssi_signo == SIGWINCH;
			if (is_resized && vm.tty >= 0 && vm.is_started) send_resize(vm.agent, 0, vm.tty);
			if (vm.qemu > 0 && waitpid(vm.qemu, NULL, WNOHANG) == vm.qemu) on_qemu_exit();
		}
		if (pfds[1].revents & POLLOUT) flush_output(&vm.to_agent);
		if (pfds[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			if (reader_fill(&agent_in, vm.agent) < 0) {
				/* The channel closed: QEMU is ending; wait for it and say why. */
				close(vm.agent);
				vm.agent = -1;
				if (vm.qemu > 0) waitpid(vm.qemu, NULL, 0);
				on_qemu_exit();
			}
			int type, got;
			uint32_t session, len;
			unsigned char *payload;
			size_t consumed;
			while ((got = reader_next(&agent_in, &type, &session, &payload, &len, &consumed)) > 0) {
				handle_agent_frame(type, session, payload, len);
				reader_drop(&agent_in, consumed);
			}
			if (got < 0) finish(255, "the guest agent broke the protocol");
		}
		if ((pfds[4].revents && pfds[4].fd >= 0) || (pfds[5].revents && pfds[5].fd >= 0)) flush_stream(&vm.main, vm.agent, 0);
		if (pfds[3].revents && pfds[3].fd >= 0) {
			ssize_t got = read(vm.stdin_fd, stdin_buf, room);
			if (got > 0) {
				vm.main.stdin_unacked += (size_t)got;
				send_frame(vm.agent, F_STDIN, 0, stdin_buf, (size_t)got);
			} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
				vm.stdin_open = 0;
				if (vm.tty < 0) send_frame(vm.agent, F_STDIN_CLOSE, 0, NULL, 0);
			}
		}
		/* Clients may be dropped while handling others: walk them from the end. */
		int client_polls = n - first_client;
		for (int i = client_polls - 1; i >= 0; i--) {
			if (i >= vm.client_count || vm.clients[i].fd != pfds[first_client + i].fd) continue;
			if (pfds[first_client + i].revents & POLLOUT) flush_output(&vm.clients[i].out);
			if (pfds[first_client + i].revents & (POLLIN | POLLHUP | POLLERR)) on_client_readable(i);
		}
		if (pfds[2].revents) {
			int fd = accept4(vm.ctl_listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			if (fd >= 0 && vm.client_count < MAX_CLIENTS) {
				vm.clients[vm.client_count++] = (struct client){ .fd = fd, .kind = C_REQUEST, .out = { .fd = fd } };
			} else if (fd >= 0) {
				close(fd);
			}
		}
	}
}

/* ---------- exec: one exec session's host side ---------- */

static int run_exec(const char *dir, const char *spec_base64, const char *console_socket, unsigned rows, unsigned cols) {
	char error[1024];
	signal(SIGPIPE, SIG_IGN);
	/* Before the pty exists: a resize right after the hand-over must not be lost. */
	int signals[] = { SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH };
	int sigfd = make_signalfd(signals, 7);
	int tty = -1;
	if (console_socket && *console_socket) {
		tty = hand_over_pty(console_socket, rows, cols, error, sizeof error);
		if (tty < 0) {
			report("error %s", error);
			return 1;
		}
	}
	if (chdir(dir) < 0) {
		report("error cannot enter %s: %s", dir, strerror(errno));
		return 1;
	}
	int sock = connect_unix(CONTROL_SOCKET);
	if (sock < 0) {
		report("error cannot reach the container's berth-vm shim: %s", strerror(errno));
		return 1;
	}
	if (write_all(sock, "exec ", 5) < 0 || write_all(sock, spec_base64, strlen(spec_base64)) < 0 || write_all(sock, "\n", 1) < 0) {
		report("error cannot reach the container's berth-vm shim: %s", strerror(errno));
		return 1;
	}
	/* The answer line, byte by byte: frames may follow it at once. */
	char line[1024];
	size_t at = 0;
	for (;;) {
		char ch;
		ssize_t n = read(sock, &ch, 1);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) {
			report("error the container stopped");
			return 1;
		}
		if (ch == '\n') break;
		if (at < sizeof line - 1) line[at++] = ch;
	}
	line[at] = 0;
	if (strcmp(line, "ok") != 0) {
		int code = 1;
		const char *message = line;
		if (!strncmp(line, "error ", 6)) {
			char *end;
			code = (int)strtol(line + 6, &end, 10);
			message = *end == ' ' ? end + 1 : line + 6;
		}
		report("error %s", message);
		return code ? code : 1;
	}
	report("ok %d", getpid());

	int in_fd = tty >= 0 ? tty : 0, is_stdin_open = 1;
	if (tty >= 0) send_resize(sock, 0, tty);
	struct reader frames = { 0 };
	unsigned char buf[32768];
	/* As the shim's session 0: output queued and written without blocking, so this process
	 * always reads the shim's socket, and acknowledged with WINDOW as it goes out. */
	struct stream st = { .out = { .fd = tty >= 0 ? tty : 1 }, .err = { .fd = tty >= 0 ? tty : 2 } };
	set_nonblocking(st.out.fd);
	set_nonblocking(st.err.fd);
	for (;;) {
		size_t room = stdin_room(&st, sizeof buf);
		struct pollfd pfds[5] = {
			{ .fd = sigfd, .events = POLLIN },
			{ .fd = sock, .events = POLLIN },
			{ .fd = is_stdin_open && room > 0 ? in_fd : -1, .events = POLLIN },
			{ .fd = st.out.len > 0 ? st.out.fd : -1, .events = POLLOUT },
			{ .fd = st.err.len > 0 ? st.err.fd : -1, .events = POLLOUT },
		};
		if (poll(pfds, 5, -1) < 0) {
			if (errno == EINTR) continue;
			return 1;
		}
		if (pfds[0].revents) {
			struct signalfd_siginfo info;
			while (read(sigfd, &info, sizeof info) > 0) {
				if (info.ssi_signo == SIGWINCH) {
					if (tty >= 0) send_resize(sock, 0, tty);
				} else {
					send_u32_frame(sock, F_SIGNAL, 0, info.ssi_signo);
				}
			}
		}
		if (pfds[1].revents) {
			/* The VM ended under the exec: as if its process was killed. */
			if (reader_fill(&frames, sock) < 0) return 137;
			int type, got;
			uint32_t session, len;
			unsigned char *payload;
			size_t consumed;
			while ((got = reader_next(&frames, &type, &session, &payload, &len, &consumed)) > 0) {
				if (type == F_STDOUT) queue_output(&st.out, payload, len);
				else if (type == F_STDERR) queue_output(&st.err, payload, len);
				else if (type == F_WINDOW) on_window(&st, payload, len);
				else if (type == F_EXIT && len >= 4) {
					drain_stream(&st);
					if (tty >= 0) tcdrain(tty);
					return (int)get_u32(payload);
				}
				reader_drop(&frames, consumed);
			}
			if (got < 0) return 1;
			flush_stream(&st, sock, 0);
		}
		if ((pfds[3].revents && pfds[3].fd >= 0) || (pfds[4].revents && pfds[4].fd >= 0)) flush_stream(&st, sock, 0);
		if (pfds[2].revents && pfds[2].fd >= 0) {
			ssize_t got = read(in_fd, buf, room);
			if (got > 0) {
				st.stdin_unacked += (size_t)got;
				send_frame(sock, F_STDIN, 0, buf, (size_t)got);
			} else if (got == 0 || (errno != EINTR && errno != EAGAIN)) {
				is_stdin_open = 0;
				if (tty < 0) send_frame(sock, F_STDIN_CLOSE, 0, NULL, 0);
			}
		}
	}
}

int main(int argc, char **argv) {
	if (fcntl(3, F_GETFD) < 0) report_fd = -1;
	if (argc == 3 && !strcmp(argv[1], "run")) return run_shim(argv[2]);
	if (!strcmp(argv[1] ? argv[1] : "", "exec")) {
		/* Out from under `berth-vm exec` (Node): its child would be reaped by Node, and an exec
		 * that ends before Node does would take its exit status with it. As an orphan this
		 * process goes to conmon, its subreaper, which is waiting for the pid we report. */
		pid_t child = fork();
		if (child < 0) {
			report("error cannot fork: %s", strerror(errno));
			return 1;
		}
		if (child > 0) _exit(0);
	}
	if (argc == 4 && !strcmp(argv[1], "exec")) return run_exec(argv[2], argv[3], NULL, 0, 0);
	if (argc == 7 && !strcmp(argv[1], "exec")) return run_exec(argv[2], argv[3], argv[4], (unsigned)atoi(argv[5]), (unsigned)atoi(argv[6]));
	fprintf(stderr, "usage: berth-vm-shim run <state-dir> | exec <state-dir> <base64-spec> [<console-socket> <rows> <cols>]\n");
	return 2;
}
