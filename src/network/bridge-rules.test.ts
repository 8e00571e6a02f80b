import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chainNamesOf, ensureScript, parseIptablesSave, removeScript, type RuledNetwork } from './bridge-rules.js';

const ID = 'abcdef0123456789'.repeat(4);
const NET: RuledNetwork = { id: ID, bridgeName: 'br-test', subnet: '10.77.0.0/16', isInternal: false };
const INTERNAL: RuledNetwork = { id: 'f'.repeat(64), bridgeName: 'br-int', subnet: '10.78.0.0/16', isInternal: true };

const EMPTY = '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n';

test('on a bare host ensure makes the top-level chains, their hooks, the network chains and the jumps', () => {
  const script = ensureScript(parseIptablesSave(EMPTY), NET);
  const names = chainNamesOf(ID);
  assert.equal(names.forward, 'BERTH-FWD-abcdef012345');
  assert.equal(names.isolate, 'BERTH-ISO-abcdef012345');
  // The isolation chains first: the forward chain's first rule jumps to BERTH-ISOLATE.
  assert.match(script, /^\*filter\n-N BERTH-ISOLATE\n:BERTH-ISO-abcdef012345 - \[0:0\]\n-A BERTH-ISO-abcdef012345 -o br-test -j DROP\n-A BERTH-ISOLATE -j BERTH-ISO-abcdef012345\n/);
  assert.match(script, /\n-N BERTH-FORWARD\n-I FORWARD 1 -j BERTH-FORWARD\n:BERTH-FWD-abcdef012345 - \[0:0\]\n/);
  assert.match(script, /-A BERTH-FWD-abcdef012345 -i br-test ! -o br-test -m conntrack ! --ctstate DNAT -j BERTH-ISOLATE\n-A BERTH-FWD-abcdef012345 -i br-test -j ACCEPT\n/);
  assert.doesNotMatch(script, /-A (FORWARD|INPUT) -j BERTH-ISOLATE/, 'BERTH-ISOLATE is not hooked into a built-in chain');
  assert.match(script, /-A BERTH-FWD-abcdef012345 -o br-test -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n/);
  assert.match(script, /-A BERTH-FWD-abcdef012345 -o br-test -m conntrack --ctstate DNAT -j ACCEPT\n/);
  assert.match(script, /-A BERTH-FORWARD -j BERTH-FWD-abcdef012345\nCOMMIT\n/);
  assert.match(script, /\*nat\n-N BERTH-POSTROUTING\n-A POSTROUTING -j BERTH-POSTROUTING\n:BERTH-NAT-abcdef012345 - \[0:0\]\n-A BERTH-NAT-abcdef012345 -s 10\.77\.0\.0\/16 ! -o br-test -j MASQUERADE\n-A BERTH-POSTROUTING -j BERTH-NAT-abcdef012345\nCOMMIT\n$/);
  assert.doesNotMatch(script, /BERTH-INPUT/);
});

test('ensure over existing rules only redeclares (flushes and refills) the network chains', () => {
  const saved = `*filter
:FORWARD ACCEPT [0:0]
:BERTH-FORWARD - [0:0]
:BERTH-FWD-abcdef012345 - [0:0]
:BERTH-ISOLATE - [0:0]
:BERTH-ISO-abcdef012345 - [0:0]
-A FORWARD -j BERTH-FORWARD
-A BERTH-ISOLATE -j BERTH-ISO-abcdef012345
-A BERTH-FORWARD -j BERTH-FWD-abcdef012345
-A BERTH-FWD-abcdef012345 -i br-test -j ACCEPT
COMMIT
*nat
:POSTROUTING ACCEPT [0:0]
:BERTH-POSTROUTING - [0:0]
:BERTH-NAT-abcdef012345 - [0:0]
-A POSTROUTING -j BERTH-POSTROUTING
-A BERTH-POSTROUTING -j BERTH-NAT-abcdef012345
COMMIT
`;
  const script = ensureScript(parseIptablesSave(saved), NET);
  assert.doesNotMatch(script, /-N |FORWARD 1|-A POSTROUTING|-A BERTH-FORWARD|-A BERTH-POSTROUTING|-A BERTH-ISOLATE/);
  assert.match(script, /:BERTH-FWD-abcdef012345 - \[0:0\]/);
  assert.equal(script.match(/^-A BERTH-FWD-abcdef012345/gm)?.length, 4);
});

test('an internal network drops what leaves or enters its bridge and puts its jump first; nothing is masqueraded', () => {
  const script = ensureScript(parseIptablesSave(EMPTY), INTERNAL);
  const fwd = chainNamesOf(INTERNAL.id).forward;
  assert.match(script, new RegExp(`-A ${fwd} -i br-int -o br-int -j ACCEPT\\n-A ${fwd} -i br-int -j DROP\\n-A ${fwd} -o br-int -j DROP\\n-I BERTH-FORWARD 1 -j ${fwd}\\n`));
  assert.match(script, /-N BERTH-INPUT\n-I INPUT 1 -j BERTH-INPUT\n/);
  assert.match(script, /-A BERTH-IN-ffffffffffff -i br-int ! -d 10\.78\.0\.0\/16 -j DROP\n-A BERTH-INPUT -j BERTH-IN-ffffffffffff\n/);
  assert.doesNotMatch(script, /\*nat|MASQUERADE/);
});

test('remove deletes every jump and the chains that exist, and nothing when there is nothing', () => {
  const saved = `*filter
:BERTH-FORWARD - [0:0]
:BERTH-FWD-abcdef012345 - [0:0]
:BERTH-FWD-999999999999 - [0:0]
-A BERTH-FORWARD -j BERTH-FWD-abcdef012345
-A BERTH-FORWARD -j BERTH-FWD-999999999999
-A BERTH-FWD-abcdef012345 -i br-test -j ACCEPT
COMMIT
*nat
:BERTH-POSTROUTING - [0:0]
:BERTH-NAT-abcdef012345 - [0:0]
COMMIT
`;
  assert.equal(
    removeScript(parseIptablesSave(saved), ID),
    '*filter\n-D BERTH-FORWARD -j BERTH-FWD-abcdef012345\n-F BERTH-FWD-abcdef012345\n-X BERTH-FWD-abcdef012345\nCOMMIT\n*nat\n-F BERTH-NAT-abcdef012345\n-X BERTH-NAT-abcdef012345\nCOMMIT\n',
  );
  assert.equal(removeScript(parseIptablesSave(EMPTY), ID), '');
});

// The scripts against the real iptables-restore, in a private network namespace (root only).
const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['-n', 'iptables-save']).status === 0;

test('the scripts apply with iptables-restore --noflush: twice is once, remove leaves only the empty top-level chains', { skip: canUnshare ? false : 'needs root, unshare and iptables' }, () => {
  // Each step plans from the state the steps before it left: a fresh namespace replays their scripts, then saves.
  const run = (steps: Array<'ensure' | 'ensure-internal' | 'remove' | 'remove-internal'>): string => {
    let saved = spawnSync('unshare', ['-n', 'iptables-save'], { encoding: 'utf8' }).stdout;
    const scripts: string[] = [];
    for (const step of steps) {
      const parsed = parseIptablesSave(saved);
      const script =
        step === 'ensure' ? ensureScript(parsed, NET) : step === 'ensure-internal' ? ensureScript(parsed, INTERNAL) : step === 'remove' ? removeScript(parsed, NET.id) : removeScript(parsed, INTERNAL.id);
      scripts.push(script);
      const shell = [...scripts.map((s) => `iptables-restore -w --noflush <<'EOF'\n${s}EOF`), 'iptables-save'].join('\n');
      const result = spawnSync('unshare', ['-n', 'sh', '-ec', shell], { encoding: 'utf8' });
      assert.equal(result.status, 0, result.stderr);
      saved = result.stdout;
    }
    return saved.split('\n').filter((l) => !l.startsWith('#')).join('\n');
  };
  const twice = run(['ensure', 'ensure', 'ensure-internal']);
  assert.equal(twice.match(/^-A BERTH-FWD-abcdef012345 /gm)?.length, 4);
  assert.equal(twice.match(/^-A BERTH-ISOLATE -j BERTH-ISO-abcdef012345$/gm)?.length, 1);
  assert.equal(twice.match(/^-A BERTH-ISO-abcdef012345 -o br-test -j DROP$/gm)?.length, 1);
  assert.doesNotMatch(twice, /BERTH-ISO-ffffffffffff/, 'an internal network drops in its own chain');
  assert.equal(twice.match(/^-A BERTH-FORWARD -j BERTH-FWD-abcdef012345$/gm)?.length, 1);
  assert.equal(twice.match(/^-A FORWARD -j BERTH-FORWARD$/gm)?.length, 1);
  // The internal network's jump comes before the other's.
  assert.match(twice, /-A BERTH-FORWARD -j BERTH-FWD-ffffffffffff\n-A BERTH-FORWARD -j BERTH-FWD-abcdef012345/);
  const removed = run(['ensure', 'ensure-internal', 'remove', 'remove-internal']);
  assert.doesNotMatch(removed, /BERTH-(FWD|IN|NAT|ISO)-/);
  assert.match(removed, /^-A FORWARD -j BERTH-FORWARD$/m);
});
