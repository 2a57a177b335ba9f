"""ApiUser: the REST side of a chat user (FastHttpUser): channel list, history pages, search,
notifications, status updates. Task weights and think times come from config.yaml `api`."""

import random
from typing import Any

import gevent
from locust import between
from locust.contrib.fasthttp import FastHttpUser

from loadtests import config
from loadtests.users.common import bearer, ssl_context, succeeded, world

API = config.load().api
STATUSES = ("online", "away", "dnd")


def channel_list(user: "ApiUser") -> None:
    user.get("/api/channels")


def history_page(user: "ApiUser") -> None:
    """The newest page, then the one before it, as scrolling up does."""
    page = user.get(f"/api/channels/{user.channel_id}/messages", params={"limit": API.history_page})
    messages = page.get("messages", []) if page else []
    if messages:
        params = {"limit": API.history_page, "before": messages[0]["seq"]}
        user.get(f"/api/channels/{user.channel_id}/messages", params=params, suffix="?before")


def search(user: "ApiUser") -> None:
    user.get("/api/search", params={"q": random.choice(API.search_words), "limit": 20})  # noqa: S311


def notifications(user: "ApiUser") -> None:
    user.get("/api/notifications")


def status_update(user: "ApiUser") -> None:
    user.request("PUT", "/api/me/status", json={"status": random.choice(STATUSES)})  # noqa: S311 (load, not secrets)


TASKS = {"channel_list": channel_list, "history_page": history_page, "search": search,
         "notifications": notifications, "status_update": status_update}  # fmt: skip


class ApiUser(FastHttpUser):
    wait_time = between(*API.wait_seconds)
    tasks = {TASKS[name]: weight for name, weight in API.tasks.items()}  # noqa: RUF012 (locust's API)
    insecure = False
    ssl_context_factory = staticmethod(ssl_context)

    def on_start(self) -> None:
        self.name, self.channel_id = world().user_name("api"), ""
        delay = 0.5
        while not self._enter_channel():  # back off like a client; the failures are in the stats
            gevent.sleep(delay * (0.5 + random.random()))  # noqa: S311 (jitter)
            delay = min(delay * 2, 10)

    def _enter_channel(self) -> bool:
        """Join a chat user's channel of this process (history to read), or make one if none yet."""
        self.channel_id = world().any_channel_id() or ""
        if not self.channel_id:
            created = self.request("POST", "/api/channels", json={"name": self.name})
            self.channel_id = created["id"] if created else ""
            return created is not None
        return self.request("POST", f"/api/channels/{self.channel_id}/join") is not None

    def get(self, path: str, *, params: dict[str, Any] | None = None, suffix: str = "") -> Any:
        return self.request("GET", path, params=params, suffix=suffix)

    def request(self, method: str, path: str, *, suffix: str = "", **kwargs: Any) -> Any:
        """One call, recorded under its path with the channel id as [id] plus `suffix`; the JSON body."""
        named = ("[id]" if self.channel_id and part == self.channel_id else part for part in path.split("/"))
        label = "/".join(named) + suffix
        response = self.client.request(method, path, headers=bearer(self.name), name=label, **kwargs)
        return response.json() if succeeded(response) and response.text else None
