"""What docker-py's users do most, against the daemon at DOCKER_HOST.

Run by docker-py.test.ts with Debian's /usr/bin/python3 and python3-docker:
    python3 scenarios.py SCENARIO
Each scenario removes what it made; a failed check raises (non-zero exit, traceback on stderr).
"""
import io
import os
import sys
import tarfile
import tempfile
import time

import docker
from docker.errors import APIError, BuildError, NotFound
from docker.types import IPAMConfig, IPAMPool

client = docker.from_env(version='auto')
api = client.api


def check(condition, message):
    if not condition:
        raise AssertionError(message)


def tar_of(files):
    """A tar archive (bytes) of {name: (text, mode)}."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode='w') as archive:
        for name, (text, mode) in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = mode
            info.uid = 4242
            info.gid = 4242
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def system():
    check(client.ping() is True, 'ping')
    version = client.version()
    check(version['ApiVersion'] >= '1.41' and version['Os'] == 'linux', version)
    info = client.info()
    check(info['Containers'] >= 0 and info['LoggingDriver'], info)
    df = client.df()
    check('Images' in df and 'Containers' in df and 'Volumes' in df, df)
    # What docker-py's own network tests do first.
    check(client.swarm.leave(force=True) is True, 'leave_swarm(force=True) accepts 503')
    check(client.plugins.list() == [], 'no plugins')


def containers():
    out = client.containers.run('busybox', ['sh', '-c', 'echo out; echo err >&2'], remove=True)
    check(out == b'out\n', out)
    stderr = client.containers.run('busybox', ['sh', '-c', 'echo err >&2'], stdout=False, stderr=True, remove=True)
    check(stderr == b'err\n', stderr)
    container = client.containers.run('busybox', ['sh', '-c', 'echo started; exec sleep 1000'], detach=True, name='dpy-main', labels={'app': 'dpy'})
    try:
        deadline = time.time() + 30
        while b'started' not in container.logs() and time.time() < deadline:
            time.sleep(0.1)
        check(container.logs() == b'started\n', container.logs())
        container.reload()
        check(container.status == 'running', container.status)
        check(container.attrs['HostConfig']['MemorySwappiness'] is None, 'HostConfig keys')
        check([c.name for c in client.containers.list(filters={'label': 'app=dpy'})] == ['dpy-main'], 'label filter')
        code, output = container.exec_run(['sh', '-c', 'echo exec; exit 3'])
        check(code == 3 and output == b'exec\n', (code, output))
        code, output = container.exec_run(['cat'], stdin=False, demux=True)
        check(code == 0, code)

        check(container.put_archive('/tmp', tar_of({'hello.txt': ('hi there\n', 0o640)})), 'put_archive')
        code, output = container.exec_run(['cat', '/tmp/hello.txt'])
        check(output == b'hi there\n', output)
        bits, stat = container.get_archive('/tmp/hello.txt')
        check(stat['name'] == 'hello.txt' and stat['size'] == 9, stat)
        with tarfile.open(fileobj=io.BytesIO(b''.join(bits))) as archive:
            check(archive.extractfile('hello.txt').read() == b'hi there\n', 'get_archive content')

        top = container.top()
        check(any('sleep' in ' '.join(p) for p in top['Processes']), top)
        stats = container.stats(stream=False)
        check(stats['memory_stats'].get('usage', 0) > 0 and 'cpu_stats' in stats, stats)

        image = container.commit(repository='dpy-committed', tag='1', changes=['LABEL committed=yes'])
        check(image.labels.get('committed') == 'yes', image.labels)
        check(client.images.get('dpy-committed:1').id == image.id, 'commit tagged')
        client.images.remove('dpy-committed:1')

        container.kill(signal='SIGKILL')
        check(container.wait()['StatusCode'] == 137, 'killed')
        container.start()
        container.stop(timeout=1)
        container.reload()
        check(container.status == 'exited', container.status)
    finally:
        container.remove(force=True)
    check(not client.containers.list(all=True, filters={'name': '^dpy-main$'}), 'removed')

    # stdin through an attach socket, as docker-py's users stream input.
    interactive = client.containers.create('busybox', ['sh', '-c', 'read line; echo "got $line"'], stdin_open=True, name='dpy-stdin')
    try:
        sock = interactive.attach_socket(params={'stdin': 1, 'stdout': 1, 'stream': 1})
        interactive.start()
        sock._sock.sendall(b'hello\n')
        check(interactive.wait(timeout=30)['StatusCode'] == 0, 'stdin container exit')
        check(interactive.logs() == b'got hello\n', interactive.logs())
        sock.close()
    finally:
        interactive.remove(force=True)


def images():
    busybox = client.images.get('busybox')
    check(busybox.tag('dpy-img', 'a'), 'tag')
    tagged = client.images.get('dpy-img:a')
    check('dpy-img:a' in tagged.tags, tagged.tags)
    history = tagged.history()
    check(len(history) >= 1 and 'Created' in history[0], history)
    archive = b''.join(tagged.save(named='dpy-img:a'))
    client.images.remove('dpy-img:a')
    loaded = client.images.load(archive)
    check(['dpy-img:a'] == [t for image in loaded for t in image.tags if t.startswith('dpy-img')], [i.tags for i in loaded])
    # list() inspects each image it finds, so tags are all of the image's.
    listed = client.images.list(name='dpy-img')
    check(len(listed) == 1 and 'dpy-img:a' in listed[0].tags, [i.tags for i in listed])
    check([i['RepoTags'] for i in api.images(name='dpy-img')] == [['dpy-img:a']], 'the summary lists the matching tag only')
    client.images.remove('dpy-img:a')
    pruned = client.images.prune(filters={'dangling': True})
    check('SpaceReclaimed' in pruned, pruned)
    try:
        client.images.prune(filters={'dangling': 'maybe'})
        raise AssertionError('dangling=maybe accepted')
    except APIError as err:
        check(err.status_code == 400, err)
    try:
        client.images.get('dpy-nosuch:1')
        raise AssertionError('missing image found')
    except NotFound:
        pass


def networks():
    ipam = IPAMConfig(pool_configs=[IPAMPool(subnet='10.91.0.0/24', gateway='10.91.0.1', iprange='10.91.0.128/25')])
    network = client.networks.create('dpy-net', driver='bridge', ipam=ipam, labels={'team': 'dpy'}, check_duplicate=True)
    try:
        network.reload()
        config = network.attrs['IPAM']['Config'][0]
        check(config['Subnet'] == '10.91.0.0/24' and config['Gateway'] == '10.91.0.1', config)
        check(network.attrs['Labels'] == {'team': 'dpy'}, network.attrs['Labels'])
        check([n.name for n in client.networks.list(names=['dpy-net'])] == ['dpy-net'], 'list by name')
        container = client.containers.run('busybox', ['sleep', '1000'], detach=True, name='dpy-net-c', network='dpy-net')
        try:
            other = client.containers.run('busybox', ['sleep', '1000'], detach=True, name='dpy-net-d')
            try:
                network.connect(other, aliases=['dpy-alias'])
                code, output = container.exec_run(['nslookup', 'dpy-alias'])
                check(code == 0, output)
                network.reload()
                check(sorted(c.name for c in network.containers) == ['dpy-net-c', 'dpy-net-d'], network.containers)
                network.disconnect(other)
            finally:
                other.remove(force=True)
            container.reload()
            address = container.attrs['NetworkSettings']['Networks']['dpy-net']['IPAddress']
            check(address.startswith('10.91.0.'), address)
        finally:
            container.remove(force=True)
    finally:
        network.remove()
    try:
        api.create_network('dpy-bad', labels=['not', 'a', 'map'])
        raise AssertionError('labels of the wrong type accepted')
    except (APIError, TypeError) as err:
        check(not isinstance(err, APIError) or err.status_code == 400, err)
    client.networks.create('dpy-prune', labels={'prune': 'me'})
    pruned = client.networks.prune(filters={'label': 'prune=me'})
    check(pruned['NetworksDeleted'] == ['dpy-prune'], pruned)


def volumes():
    volume = client.volumes.create('dpy-vol', labels={'team': 'dpy'})
    check(volume.attrs['Labels'] == {'team': 'dpy'}, volume.attrs)
    check([v.name for v in client.volumes.list(filters={'label': 'team=dpy'})] == ['dpy-vol'], 'list')
    out = client.containers.run('busybox', ['sh', '-c', 'echo data > /v/f; cat /v/f'], volumes={'dpy-vol': {'bind': '/v', 'mode': 'rw'}}, remove=True)
    check(out == b'data\n', out)
    check(client.volumes.get('dpy-vol').name == 'dpy-vol', 'get')
    # API >= 1.42 prunes anonymous volumes only, unless all=true.
    pruned = client.volumes.prune()
    check('dpy-vol' not in (pruned['VolumesDeleted'] or []), pruned)
    volume.remove()
    try:
        client.volumes.get('dpy-vol')
        raise AssertionError('volume still there')
    except NotFound:
        pass


def events():
    since = int(time.time()) - 1
    container = client.containers.create('busybox', ['true'], name='dpy-events')
    container.start()
    container.wait()
    container.remove()
    until = int(time.time()) + 1
    events = list(client.events(since=since, until=until, decode=True, filters={'container': 'dpy-events'}))
    # compose 1.29 reads the legacy id and status of container events (docker-py negotiates 1.52).
    check(all(e.get('id') == e['Actor']['ID'] and e.get('status') == e['Action'] for e in events), events)
    actions = [e['Action'] for e in events]
    check(actions[:2] == ['create', 'start'] and 'die' in actions and actions[-1] == 'destroy', actions)


def build():
    """images.build as its users call it: a context folder, build args, labels, a target, tags, extra hosts, network mode, shm size, a custom Dockerfile."""
    images_before = {i.id for i in client.images.list(all=True)}
    with tempfile.TemporaryDirectory() as context:
        with open(os.path.join(context, 'Dockerfile'), 'w') as dockerfile:
            dockerfile.write('FROM busybox AS base\nARG WORD=default\nRUN echo "$WORD" > /word\n'
                             'FROM base AS final\nCOPY note /note\nCMD ["cat", "/word", "/note"]\n')
        with open(os.path.join(context, 'note'), 'w') as note:
            note.write('from-the-context\n')
        image, logs = client.images.build(path=context, tag='dpy-build:1', buildargs={'WORD': 'argued'},
                                          labels={'made.by': 'docker-py'}, rm=True)
        logs = list(logs)
        check('dpy-build:1' in image.tags and image.labels.get('made.by') == 'docker-py', (image.tags, image.labels))
        check(any('Successfully built' in entry.get('stream', '') for entry in logs), logs)
        output = client.containers.run('dpy-build:1', remove=True)
        check(output == b'argued\nfrom-the-context\n', output)
        base, _ = client.images.build(path=context, tag='dpy-build:base', target='base', buildargs={'WORD': 'argued'})
        check(base.attrs['Config']['Cmd'] != ['cat', '/word', '/note'], base.attrs['Config']['Cmd'])
        # The same build again comes from the cache.
        _, again = client.images.build(path=context, tag='dpy-build:1', buildargs={'WORD': 'argued'}, labels={'made.by': 'docker-py'})
        check(any('Using cache' in entry.get('stream', '') for entry in again), list(again))
        # Intermediate images are hidden from the default list, shown with all.
        listed = {i.id for i in client.images.list()}
        every = {i.id for i in client.images.list(all=True)}
        check(listed < every, (len(listed), len(every)))
        # RUN steps with the build's extra hosts, network mode and /dev/shm size, from a custom Dockerfile path.
        with open(os.path.join(context, 'Dockerfile.settings'), 'w') as dockerfile:
            dockerfile.write('FROM busybox\nRUN grep -q "10.1.2.3.*buildhost" /etc/hosts && echo hosts-ok > /hosts'
                             ' && df -k /dev/shm | tail -1 | awk \'{print $2}\' > /shm && ls /sys/class/net | wc -l > /links\n'
                             'CMD ["cat", "/hosts", "/shm", "/links"]\n')
        settings, _ = client.images.build(path=context, dockerfile='Dockerfile.settings', tag='dpy-build:settings',
                                          extra_hosts={'buildhost': '10.1.2.3'}, network_mode='none', shmsize=16 * 1024 * 1024)
        output = client.containers.run(settings.id, remove=True)
        check(output.split() == [b'hosts-ok', b'16384', b'1'], output)
        with open(os.path.join(context, 'Dockerfile.fails'), 'w') as dockerfile:
            dockerfile.write('FROM busybox\nRUN exit 7\n')
        try:
            client.images.build(path=context, dockerfile='Dockerfile.fails', tag='dpy-build:fails')
            raise AssertionError('a failing RUN built')
        except BuildError as err:
            check('returned a non-zero code: 7' in str(err), err)
        try:
            client.images.build(path=context, dockerfile='Dockerfile.none')
            raise AssertionError('a missing Dockerfile built')
        except APIError as err:
            check(err.status_code == 400, err)
    for tag in ('dpy-build:1', 'dpy-build:base', 'dpy-build:settings'):
        client.images.remove(tag)
    # Removing the tagged images took their untagged parents (the build's steps) with them.
    images_after = {i.id for i in client.images.list(all=True)}
    check(images_after <= images_before, images_after - images_before)


def healthcheck():
    # docker-py's healthcheck= takes durations in nanoseconds and a list or a shell string.
    container = client.containers.run('busybox', ['sleep', '1000'], detach=True, name='dpy-health',
                                      healthcheck={'test': ['CMD-SHELL', 'echo alive'], 'interval': 1000000000, 'retries': 2})
    try:
        deadline = time.time() + 60
        while True:
            container.reload()
            health = container.attrs['State'].get('Health') or {}
            if health.get('Status') == 'healthy':
                break
            check(time.time() < deadline, f'never healthy: {health}')
            time.sleep(0.2)
        check(health['FailingStreak'] == 0 and health['Log'][-1]['Output'] == 'alive\n', health)
        check(container.attrs['Config']['Healthcheck']['Test'] == ['CMD-SHELL', 'echo alive'], container.attrs['Config'])
        healthy = client.containers.list(filters={'health': 'healthy'})
        check([c.name for c in healthy] == ['dpy-health'], healthy)
    finally:
        container.remove(force=True)


if __name__ == '__main__':
    globals()[sys.argv[1]]()
    print('ok', sys.argv[1])
