"""Relay's own Engine.IO v4 / Socket.IO v5 server on asyncio (uvloop) transports (issue 13).

One module per concern: `eio` (Engine.IO packets and polling payloads), `websocket` (RFC 6455
frames), `sio` (Socket.IO packets, binary attachments), `session` (one Engine.IO session: ping,
timeouts, upgrade, coalesced and bounded output), `http` (the listener's connection protocol:
polling, CORS, the websocket upgrade), `rooms`, `server` (namespaces, handlers, acks, encode-once
broadcast) and `fanout` (one Redis message per broadcast across replicas).
"""
