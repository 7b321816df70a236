// A plain Node `http` hello-world: the floor for `GET /healthz` in `pulse bench flash-sale`.
// Environment: PORT (0 picks one; printed as `listening <port>`).
'use strict';
const http = require('http');
const body = JSON.stringify({ ok: true });
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', 511, () => console.log(`listening ${server.address().port}`));
