"""Socket.IO: handshake auth, rooms, message events, presence, and cross-replica room changes."""
