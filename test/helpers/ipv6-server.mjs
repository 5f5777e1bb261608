// Web servers for the IPv6 test bed, run inside the server namespace (`ip netns exec … node this`).
// All listen on [::]:0, which takes IPv4 too (dual stack). Prints the ports as one JSON line.
// argv[2]: JSON { certs?: { good, self, wrong: { key, cert } } } (file paths).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

const opts = JSON.parse(process.argv[2] ?? '{}');

function handler(req, res) {
  const m = /^\/status\/(\d{3})$/.exec(req.url ?? '');
  if (req.url === '/healthz') {
    res.setHeader('content-type', 'application/json');
    res.end('{"status":"ok"}');
    return;
  }
  res.statusCode = m ? Number(m[1]) : 200;
  res.end('ok');
}

function listen(server) {
  return new Promise((resolve) => server.listen(0, '::', () => resolve(server.address().port)));
}

const ports = { http: await listen(http.createServer(handler)) };
for (const [name, pair] of Object.entries(opts.certs ?? {})) {
  const server = https.createServer({ key: readFileSync(pair.key), cert: readFileSync(pair.cert) }, handler);
  ports[name] = await listen(server);
}
process.stdout.write(`${JSON.stringify(ports)}\n`);
process.on('SIGTERM', () => process.exit(0));
