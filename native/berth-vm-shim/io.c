/*
 * berth-vm-shim: the small pieces every part uses: time, the log, whole writes, the frame protocol
 * (headers, output queues, readers, windows), unix sockets, what a console log says, the report on
 * fd 3, the pty handed over SCM_RIGHTS, and signals as a file descriptor.
 */
#include "shim.h"
#include "../read-file.h"

/* ---------- small helpers ---------- */

long long now_ms(void) {
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void log_line(const char *fmt, ...) {
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
int write_all(int fd, const void *data, size_t len) {
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

uint32_t get_u32(const unsigned char *p) {
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

void queue_output(struct output_queue *q, const unsigned char *data, size_t len) {
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
size_t flush_output(struct output_queue *q) {
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
struct output_queue *(*frame_queue_of)(int fd);

/* Send one frame. A payload over the frame limit is refused (EMSGSIZE), never split: a split
 * control frame (START, EXEC) would reach the agent as two malformed ones. */
int send_frame(int fd, int type, uint32_t session, const void *payload, size_t len) {
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

int send_u32_frame(int fd, int type, uint32_t session, uint32_t value) {
	unsigned char payload[4];
	put_u32(payload, value);
	return send_frame(fd, type, session, payload, 4);
}

int send_resize(int fd, uint32_t session, int tty) {
	struct winsize ws;
	if (ioctl(tty, TIOCGWINSZ, &ws) < 0 || ws.ws_row == 0) return 0;
	unsigned char payload[4] = { (unsigned char)(ws.ws_row >> 8), (unsigned char)ws.ws_row, (unsigned char)(ws.ws_col >> 8), (unsigned char)ws.ws_col };
	return send_frame(fd, F_RESIZE, session, payload, 4);
}

/* Append what fd has; 0 on data, -1 on EOF or error. */
int reader_fill(struct reader *r, int fd) {
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
int reader_next(struct reader *r, int *type, uint32_t *session, unsigned char **payload, uint32_t *len, size_t *consumed) {
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

void reader_drop(struct reader *r, size_t n) {
	memmove(r->buf, r->buf + n, r->len - n);
	r->len -= n;
}

/* Flush both queues and tell the agent (on fd, as session) what went out: a WINDOW per 32 KiB,
 * and one whenever the queues run dry. */
void flush_stream(struct stream *st, int fd, uint32_t session) {
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
void drain_stream(struct stream *st) {
	struct output_queue *queues[2] = { &st->out, &st->err };
	for (int i = 0; i < 2; i++) {
		if (queues[i]->len == 0) continue;
		write_all(queues[i]->fd, queues[i]->buf, queues[i]->len);
		queues[i]->len = 0;
	}
}

/* How much stdin may be read now without going past the agent's window. */
size_t stdin_room(const struct stream *st, size_t buffer) {
	if (st->stdin_unacked >= STREAM_WINDOW_BYTES) return 0;
	size_t room = STREAM_WINDOW_BYTES - st->stdin_unacked;
	return room < buffer ? room : buffer;
}

void on_window(struct stream *st, const unsigned char *payload, uint32_t len) {
	if (len < 4) return;
	uint32_t n = get_u32(payload);
	st->stdin_unacked = n > st->stdin_unacked ? 0 : st->stdin_unacked - n;
}

void set_nonblocking(int fd) {
	int flags = fcntl(fd, F_GETFL);
	if (flags >= 0) fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

int listen_unix(const char *path) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path);
	unlink(path);
	if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(fd, 16) < 0) return -1;
	return fd;
}

int connect_unix(const char *path) {
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
void file_tail(const char *path, int lines, char *out, size_t out_len) {
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
void console_reason(char *out, size_t out_len) {
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
int report_fd = 3;
void report(const char *fmt, ...) {
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
int hand_over_pty(const char *console_socket, unsigned rows, unsigned cols, char *error, size_t error_len) {
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

int make_signalfd(const int *signals, int count) {
	sigset_t set;
	sigemptyset(&set);
	for (int i = 0; i < count; i++) sigaddset(&set, signals[i]);
	sigprocmask(SIG_BLOCK, &set, NULL);
	return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}
