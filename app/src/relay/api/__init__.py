"""REST API under /api: thin routers; the logic lives in relay.services."""
