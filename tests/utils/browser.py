"""A real headless Chromium (Debian's, never a downloaded one) driven by Playwright for Python.

Certificates: Chromium on Linux trusts the anchors in $HOME/.pki/nssdb, so the browser runs with a
temporary HOME whose NSS database trusts the topology's CA. Ignoring HTTPS errors instead would stop
the service worker from registering, which is part of what the tests check.
"""

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
REPORTS = Path(__file__).resolve().parents[2] / "reports" / "web"


def trusting_home(home: Path, ca_cert: Path | None) -> Path:
    """A HOME whose NSS database (what Chromium reads) trusts `ca_cert` to identify servers."""
    nssdb = home / ".pki" / "nssdb"
    nssdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True, timeout=30)
    if ca_cert is not None:
        subprocess.run(
            ["certutil", "-d", f"sql:{nssdb}", "-A", "-t", "C,,", "-n", "relay-test-ca", "-i", str(ca_cert)],
            check=True,
            timeout=30,
        )
    return home


@contextmanager
def chromium(home: Path) -> Iterator[Browser]:
    """One browser process; each user gets an isolated context (own cookies, storage, workers)."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=FLAGS, env={**os.environ, "HOME": str(home)}, timeout=60_000
        )
        try:
            yield browser
        finally:
            browser.close()


def set_tab_hidden(page, hidden: bool) -> None:
    """Headless Chromium reports every tab visible and offers no protocol switch, so the page's
    visibility is overridden and `visibilitychange` dispatched, as a tab switch would."""
    page.evaluate(
        """(hidden) => {
            if (hidden) {
                Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
            } else {
                delete document.visibilityState;
            }
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )
