/*
 * berth-vm-shim: the container's session once the VM runs: its control clients and their requests
 * (start, kill, resize, ps, exec), the frames the agent sends, the status file, and the shim's end.
 */
#include "shim.h"
#include "../read-file.h"
#include "../netns-batch.h"

/* ---------- run: the container's shim ---------- */

struct shim_vm vm = { .agent = -1, .agent_listen = -1, .qmp_listen = -1, .qmp = -1, .ctl_listen = -1, .sigfd = -1, .stdin_fd = -1, .tty = -1, .next_session = 1 };

void write_status(const char *state, long value, const char *error) {
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

void reply(int index, const char *fmt, ...) {
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
void __attribute__((noreturn)) end_shim(int code, const char *error) {
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
void finish(int code, const char *error) {
	if (vm.is_finishing) return;
	vm.is_finishing = 1;
	vm.exit_code = code;
	if (error) snprintf(vm.error, sizeof vm.error, "%s", error);
	send_frame(vm.agent, F_POWEROFF, 0, NULL, 0);
	vm.finish_deadline = now_ms() + POWER_OFF_GRACE_MS;
}

void on_qemu_exit(void) {
	vm.qemu = 0;
	if (vm.is_finishing) end_shim(vm.exit_code, vm.error);
	char tail[768], error[1024];
	console_reason(tail, sizeof tail);
	snprintf(error, sizeof error, "the VM ended without the container's exit status%s%s", *tail ? ": " : "", tail);
	end_shim(255, error);
}

void handle_agent_frame(int type, uint32_t session, const unsigned char *payload, uint32_t len) {
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
void on_client_readable(int index) {
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
