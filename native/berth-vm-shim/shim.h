/*
 * berth-vm-shim's parts share this: the VM's state, the frame protocol's buffers, and every
 * function one part calls in another. See main.c for what the program does.
 */
#ifndef BERTH_VM_SHIM_H
#define BERTH_VM_SHIM_H

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

#include "../../guest/agent/protocol.h"

#define HEADER FRAME_HEADER_BYTES
#define MAX_PAYLOAD FRAME_MAX_PAYLOAD
#define POWER_OFF_GRACE_MS 3000
#define MAX_CLIENTS 64
#define AGENT_SOCKET "agent.sock"
#define CONTROL_SOCKET "ctl.sock"
#define QMP_SOCKET "qmp.sock"

enum template_mode { T_NONE, T_BUILD, T_CLONE };

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

/* An incoming byte stream cut into frames. */
struct reader {
	unsigned char *buf;
	size_t len, cap;
};

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

/* The shim's whole state: one VM, its agent channel, control clients and the main session. */
struct shim_vm {
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
};

extern struct output_queue *(*frame_queue_of)(int fd);
extern int report_fd;
extern struct shim_vm vm;
extern enum template_mode template_mode;
extern char template_dir[2048], building_dir[2100];
extern const char *accel_name;

long long now_ms(void);
void log_line(const char *fmt, ...);
int write_all(int fd, const void *data, size_t len);
uint32_t get_u32(const unsigned char *p);
void queue_output(struct output_queue *q, const unsigned char *data, size_t len);
size_t flush_output(struct output_queue *q);
int send_frame(int fd, int type, uint32_t session, const void *payload, size_t len);
int send_u32_frame(int fd, int type, uint32_t session, uint32_t value);
int send_resize(int fd, uint32_t session, int tty);
int reader_fill(struct reader *r, int fd);
int reader_next(struct reader *r, int *type, uint32_t *session, unsigned char **payload, uint32_t *len, size_t *consumed);
void reader_drop(struct reader *r, size_t n);
void flush_stream(struct stream *st, int fd, uint32_t session);
void drain_stream(struct stream *st);
size_t stdin_room(const struct stream *st, size_t buffer);
void on_window(struct stream *st, const unsigned char *payload, uint32_t len);
void set_nonblocking(int fd);
int listen_unix(const char *path);
int connect_unix(const char *path);
void file_tail(const char *path, int lines, char *out, size_t out_len);
void console_reason(char *out, size_t out_len);
void report(const char *fmt, ...);
int hand_over_pty(const char *console_socket, unsigned rows, unsigned cols, char *error, size_t error_len);
int make_signalfd(const int *signals, int count);
void write_status(const char *state, long value, const char *error);
void reply(int index, const char *fmt, ...);
void __attribute__((noreturn)) end_shim(int code, const char *error);
void finish(int code, const char *error);
void on_qemu_exit(void);
void handle_agent_frame(int type, uint32_t session, const unsigned char *payload, uint32_t len);
void on_client_readable(int index);
void read_conf(char *conf, char **cgroups, int *cgroup_count, char **netns, int *is_own_netns, char **console_socket, long *boot_timeout_ms, unsigned *rows, unsigned *cols);
char **read_argv(const char *name);
int enter_network(const char *netns, int is_own_netns, char *error, size_t error_len);
void remove_tree(const char *dir);
void write_template_failure(const char *dir, const char *reason);
void stop_qemu(void);
int boot_and_wait(char **argv, long long deadline, long timeout_ms, char *error, size_t error_len);
int save_template(const char *dir, char *error, size_t error_len);
void discard_template(const char *dir);
int resume_unsaved(char *error, size_t error_len);
int start_clone(const char *dir, long timeout_ms, char *error, size_t error_len);

#endif
