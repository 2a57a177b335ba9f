// The official Socket.IO client against the native server (tests/app/realtime/wire/test_interop.py).
// Input (JSON on stdin): {url, path, transports, token}. Connects with an auth payload (polling first
// and upgrading unless transports says otherwise), calls "echo" with an ack, waits for one "news"
// broadcast it asks for, and prints {ack, news, transport} as JSON. Exits non-zero with a reason.
import { readFileSync } from "node:fs";
import { io } from "socket.io-client";

const input = JSON.parse(readFileSync(0, "utf8"));
const deadline = setTimeout(() => fail("no answer within 10 s"), 10000);

function fail(reason) {
  process.stderr.write(`wire_interop.mjs: ${reason}\n`);
  process.exit(1);
}

const socket = io(input.url, {
  path: input.path,
  transports: input.transports,
  reconnection: false,
  auth: { token: input.token },
});
socket.once("connect_error", (error) => {
  clearTimeout(deadline);
  process.stdout.write(JSON.stringify({ connect_error: error.message }), () => process.exit(0));
});
socket.once("connect", async () => {
  try {
    const news = new Promise((resolve) => socket.once("news", resolve));
    const ack = await socket.timeout(5000).emitWithAck("echo", { hello: "world" });
    socket.emit("broadcast", "to everyone");
    const received = await news;
    // The default transports upgrade to websocket after the first exchange: give it a moment.
    await new Promise((resolve) => setTimeout(resolve, 300));
    const transport = socket.io.engine.transport.name;
    clearTimeout(deadline);
    socket.disconnect();
    process.stdout.write(JSON.stringify({ ack, news: received, transport }), () => process.exit(0));
  } catch (error) {
    fail(error.message);
  }
});
