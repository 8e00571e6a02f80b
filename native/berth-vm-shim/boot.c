/*
 * berth-vm-shim: booting the VM: the plan's files (shim.conf, qemu.argv), the network namespace,
 * QEMU started and watched for the agent's READY, and templates (a booted guest saved once over
 * QMP, restored by each VM of its shape).
 */
#include "shim.h"
#include "../read-file.h"

void read_conf(char *conf, char **cgroups, int *cgroup_count, char **netns, int *is_own_netns, char **console_socket, long *boot_timeout_ms, unsigned *rows, unsigned *cols) {
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
char **read_argv(const char *name) {
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
int enter_network(const char *netns, int is_own_netns, char *error, size_t error_len) {
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
void remove_tree(const char *dir) {
	if (!*dir) return;
	const char *names[] = { "ram", "state", "made" };
	char path[2300];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		unlink(path);
	}
	rmdir(dir);
}

void write_template_failure(const char *dir, const char *reason) {
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
void stop_qemu(void) {
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
int boot_and_wait(char **argv, long long deadline, long timeout_ms, char *error, size_t error_len) {
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
int save_template(const char *dir, char *error, size_t error_len) {
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
void discard_template(const char *dir) {
	char doomed[2300];
	snprintf(doomed, sizeof doomed, "%s.discarded.%d", dir, (int)getpid());
	if (rename(dir, doomed) == 0) remove_tree(doomed);
}

/* A template guest that could not be saved goes on as this container's VM. */
int resume_unsaved(char *error, size_t error_len) {
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
int start_clone(const char *dir, long timeout_ms, char *error, size_t error_len) {
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
