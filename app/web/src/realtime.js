// The Socket.IO connection: backoff reconnection (socket.io-client's, capped at 30 s), catch-up with
// ?after=<last seq> per channel on every reconnect, and auth:refresh before the token expires.
import { io } from "./socket.io.esm.min.js";
import { get } from "./api.js";
import { expiry } from "./auth.js";

const CATCH_UP_PAGE = 200;
// Refresh this long before `exp`; Clerk's session tokens live 60 s and Clerk refreshes them at ~50 s.
const REFRESH_MARGIN_MS = 15000;

export function connect(session, handlers) {
  const lastSeq = new Map();
  let refreshTimer = null;
  const socket = io({
    path: "/api/socketio",
    transports: ["websocket", "polling"],
    // A function: every (re)connection sends a fresh token, not the one from the first handshake.
    auth: (send) => session.getToken().then((token) => send({ token })),
    reconnectionDelay: 500,
    reconnectionDelayMax: 30000,
    randomizationFactor: 0.5,
  });

  async function catchUp() {
    for (const [channelId, seq] of lastSeq) {
      let after = seq;
      for (;;) {
        const page = await get(`/channels/${channelId}/messages?after=${after}&limit=${CATCH_UP_PAGE}`);
        page.messages.forEach(handlers.message);
        if (page.messages.length < CATCH_UP_PAGE) break;
        after = page.messages.at(-1).seq;
      }
    }
  }

  async function scheduleRefresh() {
    clearTimeout(refreshTimer);
    if (!session.refreshable) return;
    const exp = expiry(await session.getToken());
    const delay = exp ? Math.max(exp * 1000 - Date.now() - REFRESH_MARGIN_MS, 1000) : 30000;
    refreshTimer = setTimeout(refresh, delay);
  }

  async function refresh() {
    const token = await session.getToken();
    socket.timeout(10000).emit("auth:refresh", { token }, (error, ack) => {
      if (error || !ack?.ok) handlers.refreshFailed?.(error || ack?.error);
    });
    scheduleRefresh();
  }

  let connectedBefore = false;
  socket.on("connect", () => {
    handlers.connected();
    scheduleRefresh();
    if (connectedBefore) catchUp().catch(handlers.failure);
    connectedBefore = true;
  });
  socket.on("disconnect", (reason) => {
    clearTimeout(refreshTimer);
    handlers.disconnected(reason);
    // The server closed it (e.g. token_expired): socket.io does not retry those on its own.
    if (reason === "io server disconnect") socket.connect();
  });
  socket.on("connect_error", (error) => handlers.disconnected(error.message));
  socket.on("message:new", handlers.message);
  socket.on("message:updated", handlers.message);
  socket.on("message:deleted", handlers.message);
  socket.on("notification", handlers.notification);
  // One argument per changed user: a replica announces its changes in batches (DESIGN §4a).
  socket.on("presence", (...changes) => changes.forEach((presence) => handlers.presence?.(presence)));
  // After sleep or a network change the old transport may be dead long before a ping times out.
  window.addEventListener("online", () => socket.connected || socket.connect());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && !socket.connected) socket.connect();
  });

  return {
    socket,
    seen(message) {
      if ((lastSeq.get(message.channel_id) ?? -1) < message.seq) lastSeq.set(message.channel_id, message.seq);
    },
    send(payload) {
      return socket.timeout(10000).emitWithAck("message:send", payload);
    },
    refresh,
  };
}
