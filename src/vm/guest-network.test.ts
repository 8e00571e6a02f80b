import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { interfacesFromIpJson, networkNamespaceOf, networkQemuArgs, networkStartFields, routesFromIpJson } from './guest-network.js';

const IP_ADDR = JSON.stringify([
  { ifindex: 1, ifname: 'lo', mtu: 65536, link_type: 'loopback', address: '00:00:00:00:00:00', addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8 }] },
  { ifindex: 2, ifname: 'eth0', mtu: 1500, link_type: 'ether', address: 'ce:cf:ae:3f:d3:13', addr_info: [
    { family: 'inet', local: '172.19.0.4', prefixlen: 16 },
    { family: 'inet6', local: 'fe80::1', prefixlen: 64 },
  ] },
  { ifindex: 3, ifname: 'bvm-eth0', mtu: 1500, link_type: 'ether', address: '42:a1:b1:f8:5b:22', addr_info: [] },
]);
const IP_ROUTE = JSON.stringify([
  { dst: 'default', gateway: '172.19.0.1', dev: 'eth0', flags: [] },
  { dst: '172.19.0.0/16', dev: 'eth0', protocol: 'kernel', scope: 'link', prefsrc: '172.19.0.4', flags: [] },
  { dst: '10.9.0.0/24', gateway: '172.19.0.254', dev: 'eth0', flags: [] },
]);

describe('guest network', () => {
  it("reads the namespace's Ethernet interfaces, leaving out lo and Berth's taps", () => {
    assert.deepEqual(interfacesFromIpJson(IP_ADDR), [
      { name: 'eth0', mac: 'ce:cf:ae:3f:d3:13', mtu: 1500, addresses: [{ address: '172.19.0.4', prefixLength: 16 }], tap: 'bvm-eth0' },
    ]);
  });

  it('keeps only the routes through a gateway', () => {
    assert.deepEqual(routesFromIpJson(IP_ROUTE), [
      { destination: '0.0.0.0', prefixLength: 0, gateway: '172.19.0.1', device: 'eth0' },
      { destination: '10.9.0.0', prefixLength: 24, gateway: '172.19.0.254', device: 'eth0' },
    ]);
  });

  it('gives QEMU a tap and a virtio-net device with the MAC, and the agent its fields', () => {
    const interfaces = interfacesFromIpJson(IP_ADDR);
    assert.deepEqual(networkQemuArgs(interfaces), [
      '-netdev', 'tap,id=net0,ifname=bvm-eth0,script=no,downscript=no',
      '-device', 'virtio-net-device,netdev=net0,mac=ce:cf:ae:3f:d3:13',
    ]);
    assert.deepEqual(networkStartFields(interfaces, routesFromIpJson(IP_ROUTE)), [
      'iface=ce:cf:ae:3f:d3:13/eth0/1500',
      'addr=eth0/172.19.0.4/16',
      'route=0.0.0.0/0/172.19.0.1/eth0',
      'route=10.9.0.0/24/172.19.0.254/eth0',
    ]);
  });

  it('tells the host, a new and a prepared namespace apart', () => {
    assert.equal(networkNamespaceOf({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'pid' }] } }), 'host');
    assert.equal(networkNamespaceOf({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'network' }] } }), 'new');
    assert.deepEqual(networkNamespaceOf({ ociVersion: '1.0.2', linux: { namespaces: [{ type: 'network', path: '/run/x' }] } }), { path: '/run/x' });
  });
});
