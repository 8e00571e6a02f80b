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
 *
 * The parts: io.c (frames, queues, sockets, the report on fd 3, the pty), session.c (control
 * requests and the agent's frames once the VM runs), boot.c (QEMU, the agent's READY, templates
 * over QMP), and here the run loop, the exec side and main. shim.h holds what they share.
 */
#include "shim.h"
#include "../read-file.h"

enum template_mode template_mode = T_NONE;
/* The template this VM is restored from or saves (`<dir>/ram`: the guest's memory, `<dir>/state`:
 * its devices), and `<dir>.building`, where it is made before a rename publishes it. */
char template_dir[2048], building_dir[2100];

/* The accelerator the plan chose (shim.conf's accel), for messages. */
const char *accel_name = "";

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
