// Fan-out load generator driven by loadtests/bench_fanout.py.
//
// Reads a JSON config on stdin, connects subscribers and senders over the websocket transport,
// sends at a fixed total rate for a fixed time, and prints one JSON result on stdout. Latency is
// send -> receive on the same machine clock: the send time travels inside the message body.
"use strict";

const fs = require("node:fs");
const { performance } = require("node:perf_hooks");
const { io } = require("socket.io-client");

const now = () => performance.timeOrigin + performance.now();

function connect(cfg, token) {
  return io(cfg.url, {
    path: cfg.path,
    transports: ["websocket"],
    auth: { token },
    ca: cfg.ca ? fs.readFileSync(cfg.ca) : undefined,
    reconnection: false,
    timeout: 20000,
  });
}

function waitConnected(socket) {
  return new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (err) => reject(new Error(`connect_error: ${err.message}`)));
  });
}

async function connectAll(cfg, tokens, batch) {
  const sockets = [];
  for (let i = 0; i < tokens.length; i += batch) {
    const group = tokens.slice(i, i + batch).map((t) => connect(cfg, t));
    await Promise.all(group.map(waitConnected));
    sockets.push(...group);
  }
  return sockets;
}

function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  const rank = Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1);
  return sorted[Math.max(0, rank)];
}

function makeBody(sentAt, size) {
  const head = `t=${sentAt.toFixed(3)};`;
  return head + "x".repeat(Math.max(0, size - head.length));
}

async function main() {
  const cfg = JSON.parse(fs.readFileSync(0, "utf8"));
  const latencies = [];
  const receipts = new Map(); // message id -> number of subscriber receipts
  const perSecond = [];
  const disconnects = [];
  const errors = [];
  const acked = [];
  let duplicates = 0;
  let stopping = false;
  let sent = 0;
  let startedAt = now();

  const subscribers = await connectAll(cfg, cfg.subscriberTokens, 20);
  subscribers.forEach((socket, index) => {
    const seen = new Set();
    socket.on("message:new", (message) => {
      const receivedAt = now();
      if (message.channel_id !== cfg.channelId) return;
      if (seen.has(message.id)) {
        duplicates += 1;
        return;
      }
      seen.add(message.id);
      const sentAt = parseFloat(message.body.slice(2, message.body.indexOf(";")));
      latencies.push(receivedAt - sentAt);
      receipts.set(message.id, (receipts.get(message.id) || 0) + 1);
      const second = Math.floor((receivedAt - startedAt) / 1000);
      if (second >= 0) perSecond[second] = (perSecond[second] || 0) + 1;
    });
    socket.on("disconnect", (reason) => {
      if (!stopping) disconnects.push({ subscriber: index, reason });
    });
  });
  const senders = await connectAll(cfg, cfg.senderTokens, 10);

  const cpuBefore = process.cpuUsage();
  startedAt = now();
  process.stdout.write(JSON.stringify({ event: "sending" }) + "\n");
  const intervalMs = (1000 * senders.length) / cfg.ratePerSecond;
  const endAt = startedAt + cfg.durationSeconds * 1000;

  // Each sender ticks on its own schedule, offset so that sends spread evenly over time.
  await Promise.all(
    senders.map(
      (socket, index) =>
        new Promise((resolve) => {
          let next = startedAt + (index * intervalMs) / senders.length;
          let n = 0;
          const tick = () => {
            const t = now();
            if (t >= endAt) return resolve();
            while (next <= t && next < endAt) {
              const sentAt = now();
              const clientMsgId = `bench-${index}-${n++}`;
              sent += 1;
              socket
                .timeout(10000)
                .emit(
                  "message:send",
                  { channel_id: cfg.channelId, body: makeBody(sentAt, cfg.payloadBytes), client_msg_id: clientMsgId },
                  (err, ack) => {
                    if (err) errors.push(`ack timeout ${clientMsgId}`);
                    else if (!ack.ok) errors.push(`${clientMsgId}: ${JSON.stringify(ack.error)}`);
                    else acked.push(ack.message.id);
                  },
                );
              next += intervalMs;
            }
            setTimeout(tick, Math.max(0, next - now()));
          };
          tick();
        }),
    ),
  );

  const cpu = process.cpuUsage(cpuBefore);
  process.stdout.write(JSON.stringify({ event: "sent" }) + "\n");

  // Let in-flight messages arrive, then stop as soon as every acked message reached everyone.
  const expectedPerMessage = subscribers.length;
  const drainUntil = now() + cfg.drainSeconds * 1000;
  while (now() < drainUntil) {
    const complete =
      acked.length + errors.length === sent && acked.every((id) => receipts.get(id) === expectedPerMessage);
    if (complete) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = (now() - startedAt) / 1000;
  stopping = true;
  [...subscribers, ...senders].forEach((s) => s.close());

  let delivered = 0;
  for (const id of acked) delivered += receipts.get(id) || 0;
  const expected = acked.length * expectedPerMessage;
  latencies.sort((a, b) => a - b);
  const sendSeconds = cfg.durationSeconds;
  process.stdout.write(
    JSON.stringify({
      sent,
      acked: acked.length,
      ackedIds: acked,
      errors: errors.slice(0, 20),
      errorCount: errors.length,
      expectedDeliveries: expected,
      delivered,
      lost: expected - delivered,
      duplicates,
      disconnects,
      deliveriesPerSecond: delivered / sendSeconds,
      perSecond: perSecond.map((v) => v || 0),
      latencyMs: {
        p50: percentile(latencies, 50),
        p90: percentile(latencies, 90),
        p99: percentile(latencies, 99),
        max: latencies.length ? latencies[latencies.length - 1] : null,
      },
      generatorCores: (cpu.user + cpu.system) / 1e6 / cfg.durationSeconds,
      elapsedSeconds: elapsed,
    }) + "\n",
  );
}

main().catch((err) => {
  process.stderr.write(`generator failed: ${err.stack || err}\n`);
  process.exit(1);
});
