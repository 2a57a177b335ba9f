// The Node reference for `make bench-compare` (loadtests/bench_compare.py): socket.io 4.8 with
// @socket.io/redis-adapter, one process per port, all on one Redis, as the seed's own stack ran.
//
// It serves the events the fan-out generator uses, with the shapes of DESIGN.md §4a: the handshake
// carries `auth: {token}` (refused with connect_error without one), every socket joins the one
// benchmark channel's room, `message:send` is acked with `{ok: true, message}` and broadcast as
// `message:new` to the room on every process. Nothing is stored and tokens are not verified: this
// is the bare fan-out cost Relay is compared with, not a second implementation of Relay.
//
//   node server.js --port 9101 --redis redis://127.0.0.1:6390 --channel <id> [--path /api/socketio]
"use strict";

const http = require("node:http");
const { randomUUID } = require("node:crypto");
const { parseArgs } = require("node:util");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const { values: args } = parseArgs({
  options: {
    port: { type: "string" },
    redis: { type: "string" },
    channel: { type: "string" },
    path: { type: "string", default: "/api/socketio" },
  },
});

function refuse(error) {
  return { ok: false, error: { code: "invalid_request", message: error } };
}

async function main() {
  if (!args.port || !args.redis || !args.channel) {
    throw new Error("usage: server.js --port <port> --redis <redis url> --channel <channel id>");
  }
  const pub = createClient({ url: args.redis });
  const sub = pub.duplicate();
  await Promise.all([pub.connect(), sub.connect()]);

  const httpServer = http.createServer();
  // The seed's timings (DESIGN.md §4); compression off as on Relay's side.
  const io = new Server(httpServer, {
    path: args.path,
    pingInterval: 25000,
    pingTimeout: 60000,
    perMessageDeflate: false,
    adapter: createAdapter(pub, sub),
  });
  const room = `channel:${args.channel}`;
  let seq = 0;

  io.use((socket, next) => {
    const token = socket.handshake.auth && socket.handshake.auth.token;
    if (typeof token !== "string" || token.length === 0) return next(new Error("unauthorized"));
    socket.data.userId = token;
    next();
  });

  io.on("connection", (socket) => {
    socket.join(room);
    socket.on("message:send", (data, ack) => {
      if (typeof ack !== "function") return;
      if (!data || typeof data !== "object") return ack(refuse("the payload must be an object"));
      if (data.channel_id !== args.channel) return ack(refuse("unknown channel"));
      if (typeof data.body !== "string" || typeof data.client_msg_id !== "string") {
        return ack(refuse("body and client_msg_id must be strings"));
      }
      seq += 1;
      const message = {
        id: randomUUID(),
        channel_id: data.channel_id,
        seq,
        author_id: socket.data.userId,
        body: data.body,
        client_msg_id: data.client_msg_id,
        parent_id: data.parent_id || null,
        attachments: [],
        created_at: new Date().toISOString(),
        edited_at: null,
        deleted_at: null,
      };
      ack({ ok: true, message });
      io.to(room).emit("message:new", message);
    });
  });

  httpServer.listen(Number(args.port), "127.0.0.1", () => {
    process.stdout.write(JSON.stringify({ event: "listening", port: Number(args.port) }) + "\n");
  });
  const stop = () => {
    io.close();
    Promise.allSettled([pub.quit(), sub.quit()]).then(() => process.exit(0));
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`node reference failed: ${err.stack || err}\n`);
  process.exit(1);
});
