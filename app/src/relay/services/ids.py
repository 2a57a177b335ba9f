"""Server-generated ids: random 128-bit hex strings (ids are strings in the API, DESIGN §4a)."""

import uuid


def new_id() -> str:
    return uuid.uuid4().hex
