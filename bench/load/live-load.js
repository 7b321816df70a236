// The WebSocket load generator of `pulse bench flash-sale`: one separate process, the same for every
// target. It opens N connections at once (a join storm), each joining one event and waiting for the
// full seat-map snapshot; then it triggers seat changes over HTTP one at a time and times each
// change's arrival at every subscriber (fan-out). It samples the server's resident memory (from
// /proc) before the storm and once every connection has joined and gone idle.
//
// Usage: node live-load.js '<json>' with
//   mode       "pulse" (/api/v1/live?token=..., holds over POST /api/v1/events/:id/holds) or
//              "peer" (the seed-style peer: /live, POST /api/events/:id/lock)
//   base       "http://127.0.0.1:PORT"
//   eventId, tokens (pulse: one is used per connection, round robin), count, changes,
//   seats      the seats the changes lock, one per change (free ones)
//   serverPid  for the memory samples; expectSeats: seats in a full snapshot
// Prints one JSON line: storm (all-joined seconds, p50/p99 per connection, failures), fanout
// (p50/p99/max ms per delivery, missing), memory (RSS before and after, bytes).
'use strict';
const fs = require('fs');
const http = require('http');
const WebSocket = require('ws');

const config = JSON.parse(process.argv[2]);
const { mode, base, eventId, tokens, count, changes, seats, serverPid, expectSeats } = config;
const url = new URL(base);
const wsURL = mode === 'pulse' ? `ws://${url.host}/api/v1/live` : `ws://${url.host}/live`;

function rss() {
  const status = fs.readFileSync(`/proc/${serverPid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function lock(seat, index) {
  const token = tokens[index % tokens.length];
  const body = mode === 'pulse' ? JSON.stringify({ seatIds: [seat] }) : JSON.stringify({ seatId: seat, userId: `u${index}` });
  const path = mode === 'pulse' ? `/api/v1/events/${eventId}/holds` : `/api/events/${eventId}/lock`;
  const headers = { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) };
  if (mode === 'pulse') headers.Authorization = `Bearer ${token}`;
  return new Promise((resolve, reject) => {
    const request = http.request({ host: url.hostname, port: url.port, path, method: 'POST', headers, agent }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  const rssBefore = rss();
  const sockets = [];
  const joinedMs = new Array(count).fill(null);
  let failures = 0;
  let firstSnapshotChecked = false;
  let pending = null; // { seat, startedAt, arrived: Float64Array, remaining }
  let resolveAllJoined;
  const allJoined = new Promise((resolve) => { resolveAllJoined = resolve; });
  let joined = 0;
  let settled = 0;
  const settle = () => { if (++settled === count) resolveAllJoined(); };

  const started = performance.now();
  for (let i = 0; i < count; i++) {
    const target = mode === 'pulse' ? `${wsURL}?token=${encodeURIComponent(tokens[i % tokens.length])}` : wsURL;
    const socket = new WebSocket(target, { perMessageDeflate: false, handshakeTimeout: 120000 });
    sockets.push(socket);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'join_event', eventId })));
    socket.on('message', (data) => {
      if (joinedMs[i] === null) {
        // A snapshot is large: find its type without parsing it (one is parsed and counted below).
        if (data.indexOf('"type":"snapshot"') < 0) return;
        if (!firstSnapshotChecked) {
          firstSnapshotChecked = true;
          const parsed = JSON.parse(data);
          if (!Array.isArray(parsed.seats) || parsed.seats.length !== expectSeats) {
            console.error(`snapshot with ${parsed.seats && parsed.seats.length} seats, expected ${expectSeats}`);
            process.exit(2);
          }
        }
        joinedMs[i] = performance.now() - started;
        joined++;
        settle();
        return;
      }
      if (pending && data.length < 2048) {
        const message = JSON.parse(data);
        if (message.type === 'seat_locked' && message.seatId === pending.seat && Number.isNaN(pending.arrived[i])) {
          pending.arrived[i] = performance.now() - pending.startedAt;
          if (--pending.remaining === 0) pending.done();
        }
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => { if (joinedMs[i] === null) { failures++; joinedMs[i] = -1; settle(); } });
  }
  const stormTimeout = setTimeout(() => resolveAllJoined(), 300000);
  await allJoined;
  clearTimeout(stormTimeout);
  const stormSeconds = (performance.now() - started) / 1000;
  const perConnection = joinedMs.filter((ms) => ms !== null && ms >= 0).sort((a, b) => a - b);

  await sleep(2000); // idle: let the server settle before its memory is read
  const rssJoined = rss();

  const deliveries = [];
  let missing = 0;
  for (let k = 0; k < changes; k++) {
    const seat = seats[k];
    const arrived = new Float64Array(count).fill(NaN);
    let done;
    const finished = new Promise((resolve) => { done = resolve; });
    pending = { seat, arrived, remaining: joined, done, startedAt: performance.now() };
    const status = await lock(seat, k);
    if (status >= 300) { console.error(`lock of ${seat} answered ${status}`); process.exit(2); }
    const timeout = setTimeout(done, 5000);
    await finished;
    clearTimeout(timeout);
    pending = null;
    for (let i = 0; i < count; i++) {
      if (joinedMs[i] === null || joinedMs[i] < 0) continue;
      if (Number.isNaN(arrived[i])) missing++; else deliveries.push(arrived[i]);
    }
  }
  deliveries.sort((a, b) => a - b);
  for (const socket of sockets) socket.terminate();
  agent.destroy();
  console.log(JSON.stringify({
    storm: { count, joined, failures, allJoinedSeconds: stormSeconds, p50Ms: percentile(perConnection, 50), p99Ms: percentile(perConnection, 99) },
    fanout: { changes, deliveries: deliveries.length, missing, p50Ms: percentile(deliveries, 50), p99Ms: percentile(deliveries, 99), maxMs: deliveries[deliveries.length - 1] ?? null },
    memory: { rssBefore, rssJoined },
  }));
}

main().catch((error) => { console.error(error); process.exit(1); });
