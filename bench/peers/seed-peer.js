// A seed-style peer for `pulse bench flash-sale`: the seed's hot path as the seed writes it, with
// nothing else (no auth, no database), so it is an upper bound for the seed on this machine.
//
// - Express, one process, JSON bodies.
// - A lock is `SET lock:<event>:<seat> <user> NX EX <ttl>` in Redis (node-redis 4), as the seed's
//   request_lock does; a granted lock is broadcast to the event's room as `seat_locked`.
// - A join builds the seat map like the seed's getSeatMap: one MGET of every seat's lock key, every
//   seat in the snapshot, encoded per join.
// - Rooms are `ws` connections in a Set per event; a broadcast encodes once and writes to each.
//
// Environment: PORT (0 picks one; the chosen port is printed as `listening <port>`), REDIS_URL,
// ROWS and COLS (26 x 50), LOCK_TTL seconds (600). Debian: nodejs, node-express, node-ws, node-redis
// (run with NODE_PATH=/usr/share/nodejs).
'use strict';
const http = require('http');
const express = require('express');
const { WebSocketServer } = require('ws');
const { createClient } = require('redis');

const rows = Number(process.env.ROWS || 26);
const cols = Number(process.env.COLS || 50);
const lockTTL = Number(process.env.LOCK_TTL || 600);
const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const seats = [];
for (let r = 0; r < rows; r++) for (let c = 1; c <= cols; c++) seats.push({ id: letters[r] + c, row: letters[r], number: c });
const seatIDs = new Set(seats.map((s) => s.id));
const rooms = new Map();

async function main() {
  const redis = createClient({ url: process.env.REDIS_URL || 'redis://127.0.0.1:6379' });
  redis.on('error', (error) => console.error('redis', error.message));
  await redis.connect();

  const lockKey = (eventId, seatId) => `lock:${eventId}:${seatId}`;

  async function seatMap(eventId) {
    const holders = await redis.mGet(seats.map((s) => lockKey(eventId, s.id)));
    return seats.map((s, i) => ({
      id: s.id, label: s.id, row: s.row, number: s.number, price: 10,
      status: holders[i] ? 'locked' : 'available', lockedBy: holders[i] || undefined,
    }));
  }

  function broadcast(eventId, message) {
    const room = rooms.get(eventId);
    if (!room) return;
    const text = JSON.stringify(message);
    for (const socket of room) socket.send(text);
  }

  const app = express();
  app.use(express.json());
  app.get('/healthz', (req, res) => res.json({ ok: true }));
  app.post('/api/events/:id/lock', async (req, res) => {
    const { seatId, userId } = req.body || {};
    if (typeof seatId !== 'string' || !seatIDs.has(seatId) || typeof userId !== 'string') {
      return res.status(400).json({ success: false, message: 'Invalid seat or user' });
    }
    try {
      const granted = await redis.set(lockKey(req.params.id, seatId), userId, { NX: true, EX: lockTTL });
      if (!granted) return res.status(409).json({ success: false, message: 'Seat is already locked' });
      broadcast(req.params.id, { type: 'seat_locked', eventId: req.params.id, seatId, lockedBy: userId });
      res.json({ success: true });
    } catch (error) {
      res.status(500).json({ success: false, message: 'Something went wrong!' });
    }
  });

  const server = http.createServer(app);
  const wss = new WebSocketServer({ server, path: '/live' });
  wss.on('connection', (socket) => {
    const joined = new Set();
    socket.on('message', async (data) => {
      let message;
      try { message = JSON.parse(data); } catch { return; }
      if (message.type !== 'join_event' || typeof message.eventId !== 'string') return;
      const eventId = message.eventId;
      if (!rooms.has(eventId)) rooms.set(eventId, new Set());
      rooms.get(eventId).add(socket);
      joined.add(eventId);
      try {
        socket.send(JSON.stringify({ type: 'snapshot', eventId, seats: await seatMap(eventId) }));
      } catch (error) {
        socket.send(JSON.stringify({ type: 'error', message: 'Something went wrong!' }));
      }
    });
    socket.on('close', () => { for (const eventId of joined) rooms.get(eventId)?.delete(socket); });
  });
  server.listen(Number(process.env.PORT || 0), '127.0.0.1', 511, () => console.log(`listening ${server.address().port}`));
}

main().catch((error) => { console.error(error); process.exit(1); });
