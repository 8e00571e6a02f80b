/**
 * A generated fuzz of the whole Engine API: every route berthd serves, with hostile path
 * parameters, query values and JSON bodies (wrong types, out-of-range numbers, overlong strings,
 * bad percent-encoding, bad JSON, bad filters), each key of the request schemas mutated in turn.
 * Nothing a client can send may be answered 5xx (501 for what Berth refuses to implement and 503
 * for swarm are docker's own answers), and the daemon must keep answering throughout.
 *
 * No value here names a host: a registry reference or server address would make berthd dial it.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { z } from 'zod';
import { buildRouter } from '../../../src/api/index.js';
import {
  authConfigSchema,
  containerCreateRequestSchema,
  containerUpdateRequestSchema,
  execCreateRequestSchema,
  execStartRequestSchema,
  hostConfigSchema,
  networkConnectRequestSchema,
  networkCreateRequestSchema,
  volumeCreateRequestSchema,
} from '../../../src/api/wire/index.js';
import type { Engine } from '../../../src/engine/index.js';
import { startTestDaemon, type TestDaemon } from '../harness.js';

/** Statuses docker itself answers for what is not there: not 5xx failures. */
const ALLOWED_5XX = new Set([501, 503]);

/** Values that replace a path parameter. */
const HOSTILE_PARAMS = ['nosuch', '%ZZ', '%', 'a'.repeat(300), '..%2F..%2Fetc', '%00', 'x%20y', '-1'];

/** Query strings every route gets. */
const HOSTILE_QUERIES = [
  '',
  'filters=%7B',
  'filters=%5B1%5D',
  'filters=%7B%22bogus%22%3A%5B%22x%22%5D%7D',
  'filters=%7B%22label%22%3A5%7D',
  'filters=%7B%22until%22%3A%5B%22yesterday%22%5D%7D',
  'all=maybe&size=maybe&force=maybe&v=maybe',
  't=abc&timeout=-5&tail=abc&since=abc&until=abc&limit=-1',
  'signal=NOPE&condition=bogus&h=-1&w=99999999999999999999',
  'stream=1&stdin=1&stdout=1&logs=1&follow=0',
];

/** Values that replace one key of a request body in turn. */
const HOSTILE_VALUES: unknown[] = [null, 123, -1, 1e308, -1e308, 1.5, true, [], {}, [1, 'x'], { nested: { deeper: [null] } }, 'a'.repeat(5000), '', '%ZZ', '../../etc'];

/** Whole bodies every POST/PUT route gets. */
const HOSTILE_BODIES = ['null', '[]', '"x"', '1', '{', '{"a":', '\u0000', 'not json', '{"Image":"busybox"}'];

/** The schema of each route that reads a JSON body, keyed `METHOD path`. */
const BODY_SCHEMAS: Record<string, z.ZodObject> = {
  'POST /containers/create': containerCreateRequestSchema,
  'POST /containers/{id}/update': containerUpdateRequestSchema,
  'POST /containers/{id}/exec': execCreateRequestSchema,
  'POST /exec/{id}/start': execStartRequestSchema,
  'POST /volumes/create': volumeCreateRequestSchema,
  'POST /networks/create': networkCreateRequestSchema,
  'POST /networks/{id}/connect': networkConnectRequestSchema,
  'POST /auth': authConfigSchema,
};

/** Routes whose string values would be dialled or run: their keys get no string mutations. */
const NO_STRING_VALUES = new Set(['POST /auth']);

interface Answer {
  status: number;
  body: string;
}

/**
 * One request; streaming answers (events, logs, stats) are cut after their head and a little
 * body, since only the status matters here.
 */
function send(socket: string, method: string, path: string, body?: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: socket, method, path, headers: body !== undefined ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      const timer = setTimeout(() => {
        res.destroy();
        resolve({ status: res.statusCode ?? 0, body: text });
      }, 2_000);
      res.on('data', (chunk: Buffer) => {
        if (text.length < 2_000) text += chunk.toString('utf8');
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, body: text });
      });
      res.on('error', () => {});
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** A base body that passes the schema, so one mutated key is what the handler sees. */
function baseBody(route: string): Record<string, unknown> {
  switch (route) {
    case 'POST /containers/create':
      return { Image: 'busybox', Cmd: ['true'], HostConfig: {} };
    case 'POST /containers/{id}/exec':
      return { Cmd: ['true'] };
    case 'POST /networks/create':
      return { Name: 'fz-net' };
    case 'POST /auth':
      return {};
    default:
      return {};
  }
}

/** Bodies with each key of `schema` (and of HostConfig for creates) set to each hostile value. */
function mutatedBodies(route: string, schema: z.ZodObject): string[] {
  const bodies: string[] = [];
  const values = NO_STRING_VALUES.has(route) ? HOSTILE_VALUES.filter((value) => typeof value !== 'string') : HOSTILE_VALUES;
  for (const key of Object.keys(schema.shape)) {
    for (const value of values) bodies.push(JSON.stringify({ ...baseBody(route), [key]: value }));
  }
  if (route === 'POST /containers/create') {
    // HostConfig's many keys get the values most likely to reach the runtime unchecked.
    const sample = values.filter((value) => value === -1 || value === 1e308 || value === 1.5 || value === '%ZZ' || (typeof value === 'string' && value.length > 100) || Array.isArray(value));
    for (const key of Object.keys(hostConfigSchema.shape)) {
      for (const value of sample) bodies.push(JSON.stringify({ ...baseBody(route), HostConfig: { [key]: value } }));
    }
  }
  return bodies;
}

describe('Engine API fuzz', () => {
  let daemon: TestDaemon;
  before(async () => {
    daemon = await startTestDaemon();
  });
  after(async () => {
    // Networks and volumes the fuzz made (the harness removes containers).
    const networks = JSON.parse((await daemon.api('GET', '/networks')).body) as { Id: string; Name: string }[];
    for (const network of networks.filter((n) => !['bridge', 'host', 'none'].includes(n.Name))) await daemon.api('DELETE', `/networks/${network.Id}`);
    const containers = JSON.parse((await daemon.api('GET', '/containers/json?all=1')).body) as { Id: string }[];
    for (const container of containers) await daemon.api('DELETE', `/containers/${container.Id}?force=1&v=1`);
    await daemon.api('POST', '/volumes/prune?filters=%7B%22all%22%3A%5B%22true%22%5D%7D');
    const networksAfter = JSON.parse((await daemon.api('GET', '/networks')).body) as { Id: string; Name: string }[];
    for (const network of networksAfter.filter((n) => !['bridge', 'host', 'none'].includes(n.Name))) await daemon.api('DELETE', `/networks/${network.Id}`);
    await daemon?.cleanup();
  });

  it('answers every hostile request with a 4xx (or docker\'s 501/503), never a 5xx, and keeps serving', async () => {
    // The router only registers closures over the engine; listing routes never calls it.
    const routes = buildRouter({} as Engine).list();
    assert.ok(routes.length > 40, `only ${routes.length} routes found`);
    const failures: string[] = [];
    let sent = 0;
    const check = async (method: string, path: string, body?: string): Promise<void> => {
      const answer = await send(daemon.socket, method, path, body);
      sent += 1;
      if (answer.status >= 500 && !ALLOWED_5XX.has(answer.status)) {
        failures.push(`${method} ${path}${body !== undefined ? ` ${body.slice(0, 120)}` : ''} -> ${answer.status} ${answer.body.slice(0, 200)}`);
      }
    };
    for (const { method, path } of routes) {
      const route = `${method} ${path}`;
      // Hijacked and websocket routes need an upgrade; their bodies are streams, not JSON.
      const isStream = path.endsWith('/attach') || path.endsWith('/attach/ws') || path === '/images/load' || path === '/images/create' || path.endsWith('/archive');
      const hasParams = path.includes('{');
      const paths = hasParams ? HOSTILE_PARAMS.map((value) => path.replace(/\{\w+\*?\}/g, value)) : [path];
      // Every parameter bare; the queries with a missing object and with bad escapes.
      for (const concrete of paths) await check(method, concrete);
      for (const concrete of paths.slice(0, 2)) {
        for (const query of HOSTILE_QUERIES.slice(1)) await check(method, `${concrete}?${query}`);
      }
      if (method !== 'POST' && method !== 'PUT') continue;
      if (isStream) continue;
      const target = hasParams ? path.replace(/\{\w+\*?\}/g, 'nosuch') : path;
      for (const body of HOSTILE_BODIES) await check(method, target, body);
      const schema = BODY_SCHEMAS[route];
      if (schema) for (const body of mutatedBodies(route, schema)) await check(method, target, body);
    }
    // A body far over the limit is refused, not held.
    await check('POST', '/containers/create', JSON.stringify({ Image: 'busybox', Labels: { big: 'x'.repeat(10 * 1024 * 1024) } }));
    assert.ok(sent > 1_000, `only ${sent} requests sent`);
    assert.deepEqual(failures, [], `${failures.length} of ${sent} requests answered 5xx`);
    assert.equal((await daemon.api('GET', '/_ping')).status, 200);
  });

  it('answers the inputs found by probing with docker\'s 4xx', async () => {
    const cases: [string, string, string | undefined, number][] = [
      ['POST', '/auth', 'null', 400],
      ['POST', '/auth', 'not json', 400],
      ['GET', '/containers/%ZZ/json', undefined, 400],
      ['POST', '/volumes/create', JSON.stringify({ Name: 'v'.repeat(500) }), 400],
      ['POST', '/networks/create', JSON.stringify({ Name: 'fz-long', Options: { 'com.docker.network.bridge.name': 'b'.repeat(20) } }), 400],
      ['POST', '/networks/create', JSON.stringify({ Name: 'fz-dots', Options: { 'com.docker.network.bridge.name': '../../x' } }), 400],
      ['POST', '/containers/create', JSON.stringify({ Image: 'busybox', Labels: { big: 'x'.repeat(9 * 1024 * 1024) } }), 400],
    ];
    for (const [method, path, body, status] of cases) {
      const answer = await daemon.api(method, path, body);
      assert.equal(answer.status, status, `${method} ${path} ${body?.slice(0, 80) ?? ''}: ${answer.body}`);
      assert.ok((JSON.parse(answer.body) as { message: string }).message, 'a message');
    }
    const networks = JSON.parse((await daemon.api('GET', '/networks')).body) as { Name: string }[];
    assert.deepEqual(networks.map((n) => n.Name).filter((name) => name.startsWith('fz-')), [], 'no network from a refused create');
  });
});
