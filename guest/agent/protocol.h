/*
 * The guest agent's channel (guest/agent/PROTOCOL.md): frame types and limits, shared by the
 * agent (guest side) and native/berth-vm-shim/ (host side). src/vm/protocol.ts mirrors it, and
 * its unit test reads this file to check that both say the same.
 */
#ifndef BERTH_AGENT_PROTOCOL_H
#define BERTH_AGENT_PROTOCOL_H

enum frame_type {
	F_READY = 1,
	F_START = 2,
	F_STDIN = 3,
	F_STDOUT = 4,
	F_STDERR = 5,
	F_STDIN_CLOSE = 6,
	F_SIGNAL = 7,
	F_RESIZE = 8,
	F_EXIT = 9,
	F_ERROR = 10,
	F_EXEC = 11,
	F_POWEROFF = 12,
	F_STARTED = 13,
	F_PS = 14,
	F_PS_LIST = 15,
	F_WINDOW = 16,
	F_HELLO = 17,
};

/* Type, three reserved zero bytes, session id, payload length (both big-endian). */
#define FRAME_HEADER_BYTES 12
/* The largest payload either side sends or accepts; a longer one is a protocol error. */
#define FRAME_MAX_PAYLOAD 65536
/*
 * Per session and direction, the stdio bytes (STDIN, or STDOUT and STDERR together) a sender may
 * have sent that the receiver has not yet acknowledged with WINDOW. Bounds every queue on both
 * sides, so a process that stops reading (or a host reader that stops) holds back only its own
 * stream. The one exception: a process's last output, read after it exited, goes out whole (at
 * most two pipe buffers more).
 */
#define STREAM_WINDOW_BYTES 262144

#endif
