// bench/scale's client of the Engine API over a unix socket (plain Node, no build step):
//   node scale-api.mjs SOCKET populate TOTAL RUNNING CONCURRENCY   create TOTAL busybox containers, start RUNNING of them (sleep)
//   node scale-api.mjs SOCKET list RUNS [all]                      median and max ms of GET /containers/json, and the row count
//   node scale-api.mjs SOCKET remove-all CONCURRENCY               force-remove every container
// Prints one line of tab-separated results; exits non-zero on the first failed request.
import { request } from 'node:http';

const [socketPath, command, ...args] = process.argv.slice(2);

function call(method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = request({ socketPath, method, path, headers: data ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) } : {} }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if ((res.statusCode ?? 500) >= 300 && res.statusCode !== 304) reject(new Error(`${method} ${path}: ${res.statusCode} ${text.trim()}`));
        else resolve(text);
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

async function pool(count, concurrency, work) {
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) await work(next++);
  }));
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
};

if (command === 'populate') {
  const [total, running, concurrency] = args.map(Number);
  const t0 = performance.now();
  await pool(total, concurrency, async (i) => {
    const isRunning = i < running;
    const body = { Image: 'busybox', Cmd: isRunning ? ['sleep', '100000'] : ['true'], Labels: { 'berth.bench': 'scale' }, HostConfig: { NetworkMode: 'none' } };
    const { Id } = JSON.parse(await call('POST', `/containers/create?name=scale-${i}`, body));
    if (isRunning) await call('POST', `/containers/${Id}/start`);
  });
  console.log(`${total}\t${running}\t${(performance.now() - t0).toFixed(0)}`);
} else if (command === 'list') {
  const runs = Number(args[0]);
  const path = args[1] === 'all' ? '/containers/json?all=1' : '/containers/json';
  const times = [];
  let rows = 0;
  for (let i = 0; i < runs + 2; i++) {
    const t0 = performance.now();
    rows = JSON.parse(await call('GET', path)).length;
    if (i >= 2) times.push(performance.now() - t0);
  }
  console.log(`${median(times).toFixed(1)}\t${Math.max(...times).toFixed(1)}\t${rows}`);
} else if (command === 'remove-all') {
  const ids = JSON.parse(await call('GET', '/containers/json?all=1')).map((c) => c.Id);
  await pool(ids.length, Number(args[0]), async (i) => {
    await call('DELETE', `/containers/${ids[i]}?force=1`).catch(() => {});
  });
  console.log(`${ids.length}`);
} else {
  console.error('usage: scale-api.mjs SOCKET populate|list|remove-all ...');
  process.exit(2);
}
