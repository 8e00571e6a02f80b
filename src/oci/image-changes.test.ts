import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, InvalidChangeError } from './image-changes.js';

describe('applyChanges', () => {
  const base = { Env: ['PATH=/bin'], Cmd: ['sh'], WorkingDir: '/srv' };

  it('applies the instructions commit and import allow, as the builder would', () => {
    const out = applyChanges(base, ['ENV A=1 B="two words"', 'CMD ["echo", "$A"]', 'EXPOSE 80 53/udp', 'LABEL x=y', 'WORKDIR app', 'USER nobody', 'VOLUME /data', 'STOPSIGNAL SIGINT']);
    assert.deepEqual(out.Env, ['PATH=/bin', 'A=1', 'B=two words']);
    assert.deepEqual(out.Cmd, ['echo', '$A']);
    assert.deepEqual(out.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.deepEqual(out.Labels, { x: 'y' });
    assert.equal(out.WorkingDir, '/srv/app');
    assert.equal(out.User, 'nobody');
    assert.deepEqual(out.Volumes, { '/data': {} });
    assert.equal(out.StopSignal, 'SIGINT');
    assert.deepEqual(base.Env, ['PATH=/bin'], 'the input is not modified');
  });

  it('drops the inherited CMD when ENTRYPOINT changes alone; shell forms wrap in sh -c', () => {
    assert.equal(applyChanges(base, ['ENTRYPOINT ["/x"]']).Cmd, null);
    assert.deepEqual(applyChanges(base, ['CMD echo hi', 'ENTRYPOINT ["/x"]']).Cmd, ['/bin/sh', '-c', 'echo hi']);
  });

  it("refuses what docker refuses, with docker's words", () => {
    assert.throws(() => applyChanges(base, ['RUN true']), { message: 'RUN is not a valid change command' });
    assert.throws(() => applyChanges(base, ['foo bar']), { message: 'foo is not a valid change command' });
    assert.throws(() => applyChanges(base, ['EXPOSE abc']), { message: 'invalid containerPort: abc' });
    assert.throws(() => applyChanges(base, ['STOPSIGNAL NOPE']), InvalidChangeError);
    assert.throws(() => applyChanges(base, ['ENV']), { message: 'ENV requires at least one argument' });
    assert.equal(applyChanges(base, ['STOPSIGNAL 9']).StopSignal, '9');
    assert.throws(() => applyChanges(base, ['STOPSIGNAL 0']), { message: 'Invalid signal: 0' });
  });
});
