#!/usr/bin/env node
// Demo "pods" on loopback addresses, answering like the walkthrough's images: serve_hostname prints
// the pod name; the cafe images print "Server name: <pod>" and the request they saw.
import http from 'node:http';

const pods = [
  ['127.0.0.11', 9376, 'hostnames-8548b869d7-9qk6b', 'hostname'],
  ['127.0.0.12', 9376, 'hostnames-8548b869d7-wzksp', 'hostname'],
  ['127.0.0.13', 9376, 'hostnames-8548b869d7-bvlw8', 'hostname'],
  ['127.0.0.21', 8080, 'tea-7d57856c44-lwbnp', 'cafe'],
  ['127.0.0.22', 8080, 'tea-7d57856c44-x8k2d', 'cafe'],
  ['127.0.0.31', 8080, 'coffee-7dbb5795f6-vglbv', 'cafe'],
  ['127.0.0.32', 8080, 'coffee-7dbb5795f6-tz9qm', 'cafe'],
];

const servers = pods.map(([host, port, name, style]) =>
  http.createServer((req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end(style === 'hostname'
      ? `${name}\n`
      : `Server address: ${host}:${port}\nServer name: ${name}\nURI: ${req.url}\nHost: ${req.headers.host}\n`);
  }).listen(port, host, () => console.log(`pod ${name} on ${host}:${port}`)));

const stop = () => { for (const s of servers) s.close(); process.exit(0); };
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
