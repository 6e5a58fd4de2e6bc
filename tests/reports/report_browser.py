"""Headless Chromium driven over the DevTools protocol with the standard library only.

Starts the Debian `chromium` binary (never a downloaded browser) with remote debugging on
127.0.0.1, opens a page in a window of a given size, and returns what the page reports: each
image's natural size, every console error, uncaught exception and failed load, what a script
run in the page (clicks included) returned, and a screenshot of the top of the page. A
minimal WebSocket client (RFC 6455, text frames only) keeps selenium and its driver manager
out of the test dependencies.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# Flags: headless and quiet; nothing fetched (no component updates, sync or background
# networking); root needs --no-sandbox; a fresh profile per run.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--no-default-browser-check",
    "--remote-debugging-address=127.0.0.1",
    "--remote-debugging-port=0",
)
TIMEOUT = 60.0


def chromium_binary() -> str | None:
    """The system's Chromium, if installed."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class WebSocket:
    """Just enough of a WebSocket client for the DevTools protocol on 127.0.0.1."""

    def __init__(self, url: str, timeout: float) -> None:
        assert url.startswith("ws://127.0.0.1:"), url  # never anywhere but this machine
        host_port, _, path = url[len("ws://") :].partition("/")
        host, _, port = host_port.partition(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            f"GET /{path} HTTP/1.1\r\nHost: {host_port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)
            if not chunk:
                raise ConnectionError("DevTools closed the connection during the handshake")
            head += chunk
        if not head.startswith(b"HTTP/1.1 101"):
            raise ConnectionError(f"DevTools refused the WebSocket: {head[:80]!r}")

    def send(self, text: str) -> None:
        """Send one masked text frame."""
        payload = text.encode()
        header = bytearray([0x81])
        n = len(payload)
        if n < 126:
            header.append(0x80 | n)
        elif n < 1 << 16:
            header += bytes([0x80 | 126]) + n.to_bytes(2, "big")
        else:
            header += bytes([0x80 | 127]) + n.to_bytes(8, "big")
        mask = os.urandom(4)
        header += mask
        self.sock.sendall(bytes(header) + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("DevTools closed the connection")
            data += chunk
        return data

    def receive(self) -> str:
        """The next whole text message (continuation frames joined)."""
        message = b""
        while True:
            first, second = self._exact(2)
            opcode, n = first & 0x0F, second & 0x7F
            if n == 126:
                n = int.from_bytes(self._exact(2), "big")
            elif n == 127:
                n = int.from_bytes(self._exact(8), "big")
            payload = self._exact(n)
            if opcode == 0x8:
                raise ConnectionError("DevTools closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping/pong: not used by DevTools, ignore
                continue
            message += payload
            if first & 0x80:
                return message.decode()

    def close(self) -> None:
        """Close the socket."""
        self.sock.close()


class Page:
    """One browser tab: send commands, collect events."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send a command and wait for its answer, keeping the events that arrive meanwhile."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.receive())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return dict(message.get("result", {}))
            self.events.append(message)

    def wait_for(self, method: str, timeout: float) -> None:
        """Wait until an event of this kind arrived."""
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == method for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {method} within {timeout} s")
            self.events.append(json.loads(self.ws.receive()))


@contextlib.contextmanager
def chromium(timeout: float = TIMEOUT) -> Iterator[int]:
    """A headless Chromium with a fresh profile; yields its DevTools port on 127.0.0.1."""
    binary = chromium_binary()
    if binary is None:
        raise RuntimeError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="trackbench-chromium-") as profile:
        proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,  # D-Bus complaints of a machine without a desktop
            start_new_session=True,  # its own process group, killed as a whole below
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            deadline = time.monotonic() + timeout
            while not (port_file.exists() and port_file.read_text().strip()):
                if proc.poll() is not None:
                    raise RuntimeError(f"chromium exited with {proc.returncode}")
                if time.monotonic() > deadline:
                    raise TimeoutError("chromium did not open its DevTools port")
                time.sleep(0.1)
            yield int(port_file.read_text().split()[0])
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)


IMAGES_JS = """JSON.stringify(Array.from(document.images).map(
    img => ({src: img.getAttribute('src'), complete: img.complete,
             width: img.naturalWidth, height: img.naturalHeight})))"""


WINDOW = (1400, 900)


def inspect(
    url: str,
    timeout: float = TIMEOUT,
    script: str = "null",
    screenshot: Path | None = None,
    window: tuple[int, int] = WINDOW,
) -> dict[str, Any]:
    """Open `url` in headless Chromium in a `window` (width, height): its images' sizes, every
    error it reported, the JSON value of `script` run in the page after it loaded (its clicks
    happen in the page; errors they raise are reported too), and, given a path, a PNG of
    what the window shows at the top of the page."""
    with chromium(timeout) as port:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=timeout) as r:
            targets = json.load(r)
        target = next(t for t in targets if t.get("type") == "page")
        ws = WebSocket(target["webSocketDebuggerUrl"], timeout)
        try:
            page = Page(ws)
            for domain in ("Page", "Runtime", "Log", "Network"):
                page.call(f"{domain}.enable")
            width, height = window
            page.call("Emulation.setDeviceMetricsOverride", width=width, height=height,
                      deviceScaleFactor=1, mobile=False)  # fmt: skip
            page.call("Page.navigate", url=url)
            page.wait_for("Page.loadEventFired", timeout)
            images = json.loads(
                page.call("Runtime.evaluate", expression=IMAGES_JS)["result"]["value"]
            )
            title = page.call("Runtime.evaluate", expression="document.title")["result"]["value"]
            if screenshot is not None:  # before the script: the page as it opens
                shot = page.call("Page.captureScreenshot", format="png")
                screenshot.write_bytes(base64.b64decode(shot["data"]))
            found = page.call("Runtime.evaluate", expression=f"JSON.stringify({script})")
            if "exceptionDetails" in found:
                raise RuntimeError(f"the script failed: {found['exceptionDetails']}")
            value = json.loads(found["result"].get("value") or "null")
        finally:
            ws.close()
    errors = []
    for event in page.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(f"console.{params['type']}: {params.get('args')}")
        elif method == "Runtime.exceptionThrown":
            errors.append(f"exception: {params.get('exceptionDetails')}")
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            errors.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
        elif method == "Network.loadingFailed":
            errors.append(f"load failed: {params.get('errorText')}")
    requested = [
        e["params"]["request"]["url"]
        for e in page.events
        if e.get("method") == "Network.requestWillBeSent"
    ]
    return {"images": images, "errors": errors, "title": title, "requests": requested,
            "value": value}  # fmt: skip
