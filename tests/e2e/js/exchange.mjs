// One message between two users through the load balancer with the official Socket.IO client.
// Input (JSON on stdin): {url, ca, cookie, transport, channel_id, body, sender: {token, replica},
// receiver: {token, replica}}. Each user is pinned to its replica with the sticky cookie.
// Output (JSON on stdout): {sent, received, transports}. Exits non-zero with a reason on failure.
import { readFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
import { io } from "socket.io-client";

const input = JSON.parse(readFileSync(0, "utf8"));
const ca = readFileSync(input.ca);
const deadline = setTimeout(() => fail("no delivery within 15 s"), 15000);

function fail(reason) {
  process.stderr.write(`exchange.mjs: ${reason}\n`);
  process.exit(1);
}

function connect(user) {
  const socket = io(input.url, {
    path: "/api/socketio",
    transports: [input.transport],
    upgrade: false,
    reconnection: false,
    auth: { token: user.token },
    extraHeaders: { Cookie: `${input.cookie}=${user.replica}` },
    ca,
  });
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (error) => reject(new Error(`connect as ${user.replica}: ${error.message}`)));
  });
}

try {
  const receiver = await connect(input.receiver);
  const sender = await connect(input.sender);
  const clientMsgId = randomUUID();
  const received = new Promise((resolve) => {
    receiver.on("message:new", (message) => {
      if (message.client_msg_id === clientMsgId) resolve(message);
    });
  });
  const ack = await sender.timeout(10000).emitWithAck("message:send", {
    channel_id: input.channel_id, body: input.body, client_msg_id: clientMsgId,
  });
  if (!ack.ok) fail(`message:send refused: ${JSON.stringify(ack.error)}`);
  const message = await received;
  const transports = [sender.io.engine.transport.name, receiver.io.engine.transport.name];
  clearTimeout(deadline);
  sender.disconnect();
  receiver.disconnect();
  // Exit once the result is flushed: the polling transport's HTTP agent keeps the loop alive.
  process.stdout.write(JSON.stringify({ sent: ack.message, received: message, transports }), () => process.exit(0));
} catch (error) {
  fail(error.message);
}
