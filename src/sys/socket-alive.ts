/** Whether a unix socket has a listener behind it: a file left by a dead process has none. */
import { connect } from 'node:net';

/** True when something accepts a connection on the unix socket at `path`. */
export function acceptsConnections(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
