/**
 * A small leveled logger writing one line per event to stderr. The daemon sets the level
 * from `--log-level`; libraries take a Logger so tests can silence or capture it.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

const LEVEL_RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

export function isLogLevel(value: string): value is LogLevel {
  return value in LEVEL_RANK;
}

/** A logger that writes `time level message key=value...` lines at or above `level`. */
export function createLogger(level: LogLevel, write: (line: string) => void = (l) => process.stderr.write(l)): Logger {
  const emit = (at: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_RANK[at] < LEVEL_RANK[level]) return;
    let line = `${new Date().toISOString()} ${at} ${message}`;
    if (fields) {
      for (const [key, value] of Object.entries(fields)) {
        line += ` ${key}=${typeof value === 'string' ? JSON.stringify(value) : JSON.stringify(value ?? null)}`;
      }
    }
    write(line + '\n');
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
  };
}

/** A logger that drops everything, for tests. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };
