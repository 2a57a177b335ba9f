"""Domain logic behind the REST routers and socket events; every message query checks membership."""
