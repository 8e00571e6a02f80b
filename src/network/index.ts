// Networks through CNI: records, config lists, namespaces, IPAM, published ports.
// Imports store/, sys/ and common/.
export * from './cni.js';
export * from './errors.js';
export * from './network-service.js';
export * from './port-reserver.js';
export * from './subnets.js';
export * from './types.js';
export { createNetns, removeNetns } from './netns.js';
export { DnsResponder, upstreamsFromResolvConf, type DnsRecords, type DnsUpstream } from './dns-responder.js';
export { DNS_RCODE, DNS_TYPE, encodeDnsResponse, parseDnsQuery, type DnsQuery, type DnsAnswer } from './dns-message.js';
export { BridgeRules, chainNamesOf, type RuledNetwork } from './bridge-rules.js';
