/*
 * berth-vm: the OCI runtime program for VM containers, as conmon, berthd and podman run it.
 *
 * The commands on every container's path that need no planning (start, state, kill, delete)
 * are answered here, in C, from the files `berth-vm create` and the shim leave in the state
 * directory (`<root>/<id>/`: state.json, shim.status, shim.conf, ctl.sock, qemu.pid, release.ip
 * and release.tc). Each of them used to start Node (~70 ms here, on every run). Everything
 * else (create, exec, ps, pause, resume, update, --version) goes to the Node program
 * (dist/src/bin/berth-vm.js, see src/vm/berth-vm-cli.ts), with the same arguments.
 *
 * Global flags as crun's: --root DIR, --log FILE, --log-format json|text (others are ignored).
 * Errors go to stderr and the log; the exit status is 1.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <linux/close_range.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "netns-batch.h"
#include "read-file.h"

#ifndef BERTH_NODE
#define BERTH_NODE "node"
#endif
#define DEFAULT_ROOT "/run/berth-vm"

static const char *log_path, *log_format = "text";

static void __attribute__((noreturn, format(printf, 1, 2))) fail(const char *fmt, ...) {
	char message[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof message, fmt, ap);
	va_end(ap);
	fprintf(stderr, "berth-vm: %s\n", message);
	if (log_path) {
		FILE *f = fopen(log_path, "a");
		if (f) {
			char stamp[40];
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", gmtime(&ts.tv_sec));
			if (!strcmp(log_format, "json")) {
				fprintf(f, "{\"level\":\"error\",\"msg\":\"");
				for (const char *p = message; *p; p++) {
					if (*p == '"' || *p == '\\') fprintf(f, "\\%c", *p);
					else if ((unsigned char)*p < 0x20) fprintf(f, "\\u%04x", *p);
					else fputc(*p, f);
				}
				fprintf(f, "\",\"time\":\"%s.%03ldZ\"}\n", stamp, ts.tv_nsec / 1000000);
			} else {
				fprintf(f, "%s.%03ldZ error: %s\n", stamp, ts.tv_nsec / 1000000, message);
			}
			fclose(f);
		}
	}
	exit(1);
}

/* A string field of the flat JSON object create writes (JSON.stringify: escapes as JSON's). */
static char *json_string(const char *json, const char *key) {
	char pattern[64];
	snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
	const char *at = json ? strstr(json, pattern) : NULL;
	if (!at) return NULL;
	at += strlen(pattern);
	char *out = malloc(strlen(at) + 1), *o = out;
	for (; *at && *at != '"'; at++) {
		if (*at != '\\') {
			*o++ = *at;
			continue;
		}
		at++;
		switch (*at) {
		case 'n': *o++ = '\n'; break;
		case 't': *o++ = '\t'; break;
		case 'r': *o++ = '\r'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'u': {
			unsigned code = 0;
			if (sscanf(at + 1, "%4x", &code) == 1) at += 4;
			if (code < 0x80) *o++ = (char)code;
			else if (code < 0x800) { *o++ = (char)(0xc0 | (code >> 6)); *o++ = (char)(0x80 | (code & 0x3f)); }
			else { *o++ = (char)(0xe0 | (code >> 12)); *o++ = (char)(0x80 | ((code >> 6) & 0x3f)); *o++ = (char)(0x80 | (code & 0x3f)); }
			break;
		}
		case 0: at--; break;
		default: *o++ = *at; break;
		}
	}
	*o = 0;
	return out;
}

static void print_json_string(const char *s) {
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
		else putchar(*s);
	}
	putchar('"');
}

/* One container's record: create's state.json with the shim's status laid over it. */
struct record {
	char dir[PATH_MAX];
	char *json;            /* state.json */
	char status[16];       /* creating, created, running, stopped */
	long pid;              /* the shim's */
	long exit_code;
	char error[1024];
	const char *id;
};

static int read_record(const char *root, const char *id, struct record *r) {
	memset(r, 0, sizeof *r);
	r->id = id;
	if (!*id || strchr(id, '/') || !strcmp(id, ".") || !strcmp(id, "..")) return -1;
	snprintf(r->dir, sizeof r->dir, "%s/%s", root, id);
	char path[PATH_MAX + 32];
	snprintf(path, sizeof path, "%s/state.json", r->dir);
	r->json = read_file(path, NULL);
	if (!r->json) return -1;
	strcpy(r->status, "creating");
	snprintf(path, sizeof path, "%s/shim.status", r->dir);
	char *status = read_file(path, NULL);
	if (status) {
		char word[16];
		long value;
		if (sscanf(status, "%15s %ld", word, &value) == 2) {
			if (!strcmp(word, "stopped")) {
				strcpy(r->status, "stopped");
				r->exit_code = value;
				char *second = strchr(status, '\n');
				if (second) {
					second++;
					second[strcspn(second, "\n")] = 0;
					snprintf(r->error, sizeof r->error, "%s", second);
				}
			} else if (!strcmp(word, "created") || !strcmp(word, "running")) {
				strcpy(r->status, word);
				r->pid = value;
			}
		}
		free(status);
	}
	return 0;
}

/* True when pid is this container's live shim (`berth-vm-shim run <dir>`), not a zombie or a reused pid. */
static int is_shim_alive(const struct record *r) {
	if (r->pid <= 0) return 0;
	char path[64];
	snprintf(path, sizeof path, "/proc/%ld/stat", r->pid);
	char *stat = read_file(path, NULL);
	if (!stat) return 0;
	char *close_paren = strrchr(stat, ')');
	int is_zombie = close_paren && close_paren[1] == ' ' && close_paren[2] == 'Z';
	free(stat);
	if (is_zombie) return 0;
	snprintf(path, sizeof path, "/proc/%ld/cmdline", r->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) return 0;
	char cmdline[8192];
	ssize_t n = read(fd, cmdline, sizeof cmdline - 1);
	close(fd);
	if (n <= 0) return 0;
	cmdline[n] = 0;
	const char *program = cmdline, *mode = program + strlen(program) + 1;
	if (mode >= cmdline + n) return 0;
	const char *dir = mode + strlen(mode) + 1;
	if (dir >= cmdline + n) return 0;
	size_t program_len = strlen(program), id_len = strlen(r->id), dir_len = strlen(dir);
	return program_len >= 13 && !strcmp(program + program_len - 13, "berth-vm-shim") && !strcmp(mode, "run") &&
		dir_len >= id_len && !strcmp(dir + dir_len - id_len, r->id);
}

static const char *effective_status(const struct record *r) {
	if (!strcmp(r->status, "stopped")) return "stopped";
	return is_shim_alive(r) ? r->status : "stopped";
}

/* One request line to the shim's control socket; the reply's first line, or NULL. */
static char *ask_shim(const struct record *r, const char *request, int timeout_ms) {
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	/* sun_path is short: connect relative to the state directory. */
	int here = open(".", O_RDONLY | O_CLOEXEC);
	if (chdir(r->dir) < 0) return NULL;
	strcpy(addr.sun_path, "ctl.sock");
	int connected = connect(fd, (struct sockaddr *)&addr, sizeof addr);
	if (here >= 0) {
		if (fchdir(here) < 0) {
			/* Nothing we use depends on the working directory afterwards. */
		}
		close(here);
	}
	if (connected < 0) return NULL;
	dprintf(fd, "%s\n", request);
	static char reply[4096];
	size_t len = 0;
	struct timespec start;
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct timespec now;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed >= timeout_ms) fail("the berth-vm shim of %s did not answer within %d s", r->id, timeout_ms / 1000);
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		if (poll(&pfd, 1, (int)(timeout_ms - elapsed)) <= 0) continue;
		ssize_t n = read(fd, reply + len, sizeof reply - 1 - len);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		len += (size_t)n;
		if (memchr(reply, '\n', len) || len == sizeof reply - 1) break;
	}
	close(fd);
	reply[len] = 0;
	reply[strcspn(reply, "\n")] = 0;
	return reply;
}

/* "error <code> <message>" -> "<message>" */
static const char *reply_message(const char *reply) {
	if (strncmp(reply, "error ", 6)) return reply;
	const char *p = reply + 6;
	while (*p >= '0' && *p <= '9') p++;
	return *p == ' ' ? p + 1 : reply + 6;
}

static int signal_number(const char *name) {
	if (!name || !*name) return SIGTERM;
	char *end;
	long number = strtol(name, &end, 10);
	if (!*end && number > 0 && number < 65) return (int)number;
	if (!strncasecmp(name, "SIG", 3)) name += 3;
	for (int i = 1; i < 65; i++) {
		const char *abbrev = sigabbrev_np(i);
		if (abbrev && !strcasecmp(abbrev, name)) return i;
	}
	fail("unknown signal %s", name);
}

static void cmd_start(const char *root, const char *id) {
	struct record r;
	if (read_record(root, id, &r) < 0) fail("container %s does not exist", id);
	if (strcmp(effective_status(&r), "created")) fail("container %s is not in the created state", id);
	char *reply = ask_shim(&r, "start", 60000);
	if (!reply || !*reply) fail("berth-vm shim gave no answer");
	if (strcmp(reply, "ok")) fail("%s", reply_message(reply));
}

static void cmd_state(const char *root, const char *id) {
	struct record r;
	if (read_record(root, id, &r) < 0) fail("container %s does not exist", id);
	const char *status = effective_status(&r);
	/* berth-vm pause leaves this mark while the VM's cgroup is frozen (src/vm/berth-vm-cli.ts). */
	char mark[PATH_MAX + 16];
	snprintf(mark, sizeof mark, "%s/paused", r.dir);
	if (!strcmp(status, "running") && access(mark, F_OK) == 0) status = "paused";
	char *bundle = json_string(r.json, "bundle"), *created = json_string(r.json, "created"), *accel = json_string(r.json, "accel");
	printf("{\n  \"ociVersion\": \"1.0.2\",\n  \"id\": ");
	print_json_string(id);
	printf(",\n  \"pid\": %ld,\n  \"status\": \"%s\",\n  \"bundle\": ", strcmp(status, "stopped") ? r.pid : 0L, status);
	print_json_string(bundle ? bundle : "");
	printf(",\n  \"created\": ");
	print_json_string(created ? created : "");
	printf(",\n  \"annotations\": {\n    \"io.berth.vm.accel\": ");
	print_json_string(accel ? accel : "");
	if (*r.error) {
		printf(",\n    \"io.berth.vm.error\": ");
		print_json_string(r.error);
	}
	printf("\n  }\n}\n");
}

static void cmd_kill(const char *root, const char *id, const char *signal_name) {
	struct record r;
	if (read_record(root, id, &r) < 0) fail("container %s does not exist", id);
	int signal = signal_number(signal_name);
	int is_alive = is_shim_alive(&r);
	/* The VM has ended but the shim lingers: SIGKILL is the way out. */
	if (signal == SIGKILL && !strcmp(r.status, "stopped") && is_alive) {
		kill((pid_t)r.pid, SIGKILL);
		return;
	}
	if (!strcmp(effective_status(&r), "stopped")) fail("container %s is not running", id);
	char request[32];
	snprintf(request, sizeof request, "kill %d", signal);
	char *reply = ask_shim(&r, request, 10000);
	if (reply && !strcmp(reply, "ok")) return;
	if (signal == SIGKILL && is_shim_alive(&r)) {
		kill((pid_t)r.pid, SIGKILL);
		return;
	}
	fail("kill %s: the berth-vm shim does not answer", id);
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	(void)st, (void)ftw;
	return type == FTW_DP ? rmdir(path) : unlink(path);
}

static void cmd_delete(const char *root, const char *id, int is_forced) {
	struct record r;
	char path[PATH_MAX + 32];
	if (read_record(root, id, &r) < 0) {
		/* A half-made directory without state.json is ours to clear; anything else does not exist. */
		if (*r.dir) {
			snprintf(path, sizeof path, "%s/shim.log", r.dir);
			if (access(path, F_OK) == 0) nftw(r.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
		}
		fail("container %s does not exist", id);
	}
	const char *status = effective_status(&r);
	if (strcmp(status, "stopped")) {
		if (!is_forced && !strcmp(status, "running")) fail("cannot delete running container %s: use --force", id);
		if (is_shim_alive(&r)) kill((pid_t)r.pid, SIGKILL);
	}
	/* QEMU dies with the shim (PDEATHSIG); make sure, in case it was reparented first. */
	snprintf(path, sizeof path, "%s/qemu.pid", r.dir);
	char *qemu = read_file(path, NULL);
	long qemu_pid = qemu ? atol(qemu) : 0;
	free(qemu);
	if (qemu_pid > 0) {
		snprintf(path, sizeof path, "/proc/%ld/cmdline", qemu_pid);
		char *cmdline = read_file(path, NULL);
		if (cmdline && strstr(cmdline, "qemu")) kill((pid_t)qemu_pid, SIGKILL);
		free(cmdline);
	}
	/* The network plumbing if the shim did not get to undo it, and the cgroups the plan named. */
	snprintf(path, sizeof path, "%s/shim.conf", r.dir);
	char *conf = read_file(path, NULL);
	for (char *line = conf ? strtok(conf, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		if (!strncmp(line, "netns=", 6)) {
			char batch[PATH_MAX + 32];
			snprintf(batch, sizeof batch, "%s/release.ip", r.dir);
			run_batch_in_netns(line + 6, "/usr/sbin/ip", batch);
			snprintf(batch, sizeof batch, "%s/release.tc", r.dir);
			run_batch_in_netns(line + 6, "/usr/sbin/tc", batch);
		} else if (!strncmp(line, "cgroup=", 7)) {
			/* Processes that were just killed leave the cgroup a moment later. */
			for (int attempt = 0; attempt < 50 && rmdir(line + 7) < 0 && errno == EBUSY; attempt++) usleep(20000);
		}
	}
	free(conf);
	nftw(r.dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Everything else is Node's: the same arguments to dist/src/bin/berth-vm.js. */
static void __attribute__((noreturn)) run_node(int argc, char **argv) {
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
	if (n < 0) fail("cannot find myself: %s", strerror(errno));
	self[n] = 0;
	char script[PATH_MAX + 64];
	snprintf(script, sizeof script, "%s/../dist/src/bin/berth-vm.js", dirname(self));
	char **args = calloc((size_t)argc + 2, sizeof(char *));
	args[0] = (char *)BERTH_NODE;
	args[1] = script;
	for (int i = 1; i < argc; i++) args[i + 1] = argv[i];
	execvp(args[0], args);
	fail("cannot run %s: %s", BERTH_NODE, strerror(errno));
}

int main(int argc, char **argv) {
	const char *root = DEFAULT_ROOT;
	const char *positional[8];
	int count = 0, is_forced = 0;
	const char *signal_flag = NULL;
	for (int i = 1; i < argc; i++) {
		char *arg = argv[i];
		const char *value = NULL;
		char name[64] = "";
		if (!strcmp(arg, "--")) {
			while (++i < argc && count < 8) positional[count++] = argv[i];
			break;
		}
		if (arg[0] == '-' && arg[1]) {
			const char *start = arg + (arg[1] == '-' ? 2 : 1);
			const char *eq = strchr(start, '=');
			snprintf(name, sizeof name, "%.*s", (int)(eq ? eq - start : (long)strlen(start)), start);
			if (eq) value = eq + 1;
			int takes_value = !strcmp(name, "root") || !strcmp(name, "log") || !strcmp(name, "log-format") || !strcmp(name, "signal");
			if (!value && takes_value && i + 1 < argc) value = argv[++i];
			if (!strcmp(name, "root")) root = value;
			else if (!strcmp(name, "log")) log_path = value;
			else if (!strcmp(name, "log-format")) log_format = value;
			else if (!strcmp(name, "signal")) signal_flag = value;
			else if (!strcmp(name, "force") || !strcmp(name, "f")) is_forced = 1;
			/* Other flags are the Node program's (create's, exec's) or ignored, as crun ignores
			 * global flags it has no use for. --version is Node's. */
			else if (!strcmp(name, "version") || !strcmp(name, "v")) run_node(argc, argv);
			continue;
		}
		if (count < 8) positional[count++] = arg;
	}
	const char *command = count > 0 ? positional[0] : "";
	const char *id = count > 1 ? positional[1] : "";
	if (!strcmp(command, "start")) return cmd_start(root, id), 0;
	if (!strcmp(command, "state")) return cmd_state(root, id), 0;
	if (!strcmp(command, "kill")) return cmd_kill(root, id, count > 2 ? positional[2] : signal_flag), 0;
	if (!strcmp(command, "delete")) return cmd_delete(root, id, is_forced), 0;
	run_node(argc, argv);
}
