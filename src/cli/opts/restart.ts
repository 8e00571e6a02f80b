/** `--restart` as docker's CLI parses it (its opts/parse.go ParseRestartPolicy). */
import type { HostConfig } from '../../api/wire/index.js';
import { UsageError } from '../exit.js';

/** `no`, `always`, `unless-stopped` or `on-failure[:N]`, with docker's messages. */
export function parseRestart(policy: string): HostConfig['RestartPolicy'] {
  const [name, count, ...extra] = policy.split(':');
  if (extra.length > 0) throw new UsageError(`invalid restart policy format: ${policy}`);
  if (name === '' || name === 'no') {
    if (count !== undefined) throw new UsageError(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name || 'no'}'`);
    return { Name: 'no', MaximumRetryCount: 0 };
  }
  if (name !== 'always' && name !== 'unless-stopped' && name !== 'on-failure') {
    throw new UsageError(`invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`);
  }
  let retries = 0;
  if (count !== undefined) {
    if (name !== 'on-failure') throw new UsageError(`invalid restart policy format: maximum retry count cannot be used with restart policy '${name}'`);
    if (!/^\d+$/.test(count)) throw new UsageError('invalid restart policy format: maximum retry count must be an integer');
    retries = Number(count);
  }
  return { Name: name, MaximumRetryCount: retries };
}
