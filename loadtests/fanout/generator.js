// Fan-out load generator driven by loadtests/bench_fanout.py (and bench_compare.py).
//
// Protocol on stdin/stdout, one JSON object per line: it reads its config, connects its subscribers
// and senders over the websocket transport, prints {"event":"ready"}, waits for the line "go", sends
// at a fixed total rate for a fixed time ({"event":"sending"}, then {"event":"sent"}) and prints one
// result. Several generator processes can share a run: each gets a share of the tokens and of the
// rate, and reports what the driver needs to merge (receipts per message id, a latency histogram).
// Latency is send -> receive on the same machine clock: the send time travels inside the message
// body, so it holds across generator processes. Its own CPU and event-loop delay while sending are
// reported so the driver can tell whether the generator, rather than the server, was the limit.
"use strict";

const fs = require("node:fs");
const readline = require("node:readline");
const { randomUUID } = require("node:crypto");
const { performance, monitorEventLoopDelay } = require("node:perf_hooks");
const { io } = require("socket.io-client");

const now = () => performance.timeOrigin + performance.now();

// Latencies are kept as a histogram of 0.1 ms buckets (key: tenths of a millisecond), small enough
// to print for a million deliveries and exact enough to merge across processes for percentiles.
const BUCKETS_PER_MS = 10;
// monitorEventLoopDelay samples with a timer of this period and records the whole period, so the
// delay is what exceeds it (open-telemetry/opentelemetry-js-contrib#2794).
const LOOP_DELAY_RESOLUTION_MS = 10;
const loopDelayMs = (nanoseconds) => Math.max(0, nanoseconds / 1e6 - LOOP_DELAY_RESOLUTION_MS);

function connect(cfg, token, index) {
  const urls = cfg.urls || [cfg.url];
  return io(urls[index % urls.length], {
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
    const group = tokens.slice(i, i + batch).map((t, j) => connect(cfg, t, i + j));
    await Promise.all(group.map(waitConnected));
    sockets.push(...group);
  }
  return sockets;
}

// Returns a reader of the next line and a close() that lets the process exit when done.
function readLines() {
  const input = readline.createInterface({ input: process.stdin });
  const lines = input[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error("stdin closed before the expected line");
    return value;
  };
  return { next, close: () => input.close() };
}

function makeBody(sentAt, size) {
  const head = `t=${sentAt.toFixed(3)};`;
  return head + "x".repeat(Math.max(0, size - head.length));
}

async function main() {
  const stdin = readLines();
  const cfg = JSON.parse(await stdin.next());
  const latencies = new Map(); // tenths of a ms -> count
  const receipts = new Map(); // message id -> number of subscriber receipts
  const perSecond = [];
  const disconnects = [];
  const errors = [];
  const acked = [];
  let duplicates = 0;
  let stopping = false;
  let sent = 0;
  let startedAt = now();
  let lastReceiptAt = now();

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
      const bucket = Math.max(0, Math.round((receivedAt - sentAt) * BUCKETS_PER_MS));
      latencies.set(bucket, (latencies.get(bucket) || 0) + 1);
      lastReceiptAt = receivedAt;
      receipts.set(message.id, (receipts.get(message.id) || 0) + 1);
      const second = Math.floor((receivedAt - startedAt) / 1000);
      if (second >= 0) perSecond[second] = (perSecond[second] || 0) + 1;
    });
    socket.on("disconnect", (reason) => {
      if (!stopping) disconnects.push({ subscriber: index, reason });
    });
  });
  const senders = await connectAll(cfg, cfg.senderTokens, 10);

  // client_msg_id is the idempotency key: a reused one is answered with the stored original and
  // not broadcast again, so every run (and every step of a --find-max run) needs its own.
  const run = randomUUID();
  process.stdout.write(JSON.stringify({ event: "ready" }) + "\n");
  if ((await stdin.next()).trim() !== "go") throw new Error('expected the line "go" on stdin');
  stdin.close();
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_DELAY_RESOLUTION_MS });
  loopDelay.enable();
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
              const clientMsgId = `${run}-${index}-${n++}`;
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

  // A generator with no senders of its own (more processes than senders) still receives for the
  // whole sending period: others' messages are on their way until it ends.
  await new Promise((r) => setTimeout(r, Math.max(0, endAt - now())));
  const cpu = process.cpuUsage(cpuBefore);
  loopDelay.disable();
  process.stdout.write(JSON.stringify({ event: "sent" }) + "\n");

  // Let in-flight messages arrive, then stop once every acked message and every message seen
  // (other generators' senders included) reached all of this process's subscribers, and nothing
  // new arrived for a moment (another generator's last messages may still be on their way).
  const expectedPerMessage = subscribers.length;
  const drainUntil = now() + cfg.drainSeconds * 1000;
  const everyoneHas = (id) => receipts.get(id) === expectedPerMessage;
  while (now() < drainUntil) {
    const complete =
      acked.length + errors.length === sent &&
      acked.every(everyoneHas) &&
      [...receipts.keys()].every(everyoneHas) &&
      now() - lastReceiptAt > 300;
    if (complete) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const elapsed = (now() - startedAt) / 1000;
  stopping = true;
  [...subscribers, ...senders].forEach((s) => s.close());

  process.stdout.write(
    JSON.stringify({
      sent,
      subscribers: subscribers.length,
      ackedIds: acked,
      errors: errors.slice(0, 20),
      errorCount: errors.length,
      receipts: Object.fromEntries(receipts),
      duplicates,
      disconnects,
      perSecond: perSecond.map((v) => v || 0),
      latencyTenthsMs: Object.fromEntries(latencies),
      generatorCores: (cpu.user + cpu.system) / 1e6 / cfg.durationSeconds,
      eventLoopDelayMs: { p99: loopDelayMs(loopDelay.percentile(99)), max: loopDelayMs(loopDelay.max) },
      elapsedSeconds: elapsed,
    }) + "\n",
  );
}

main().catch((err) => {
  process.stderr.write(`generator failed: ${err.stack || err}\n`);
  process.exit(1);
});
