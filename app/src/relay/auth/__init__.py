"""Session-token authentication (Clerk-compatible RS256 JWTs), shared by REST and the socket handshake."""
