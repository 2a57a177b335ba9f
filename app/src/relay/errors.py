"""The one domain error, raised by services and turned into the §4a error body by REST and sockets."""


class RelayError(Exception):
    def __init__(self, code: str, message: str, status: int = 400, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.code, self.message, self.status, self.headers = code, message, status, headers

    def body(self) -> dict[str, dict[str, str]]:
        return {"error": {"code": self.code, "message": self.message}}


def not_found(what: str) -> RelayError:
    return RelayError("not_found", f"{what} not found (or you are not a member)", 404)
