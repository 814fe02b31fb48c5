"""Debian's chromium driven by Playwright (as in tests/test_browser.py), logged in with a session cookie,
recording every answer save the page sends and what the server said."""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@dataclass
class PageSave:
    position: int
    seq: int
    tokens: list[str]
    status: int  # 0 when the request failed (offline)
    reply: dict[str, Any]


@dataclass
class SaveLog:
    """Every POST .../answer the page made, in the order it made them."""

    saves: list[PageSave] = field(default_factory=list)

    def record(self, request: Any, status: int, reply: dict[str, Any]) -> None:
        form = parse_qs(request.post_data or "")
        position = int(request.url.rstrip("/").split("/q/")[1].split("/")[0])
        self.saves.append(PageSave(position, int(form["seq"][0]), form.get("choice", []), status, reply))

    def attach(self, page: Any) -> None:
        def on_response(response: Any) -> None:
            if response.request.method == "POST" and response.url.endswith("/answer"):
                try:
                    reply = response.json()
                except Exception:  # noqa: BLE001 - a non-JSON error page
                    reply = {}
                self.record(response.request, response.status, reply)

        def on_failed(request: Any) -> None:
            if request.method == "POST" and request.url.endswith("/answer"):
                self.record(request, 0, {})

        page.on("response", on_response)
        page.on("requestfailed", on_failed)

    @property
    def acked(self) -> list[PageSave]:
        return [s for s in self.saves if s.status == 200]


class Network:
    """The browser's network, which the test can cut: Playwright's set_offline plus a TCP relay.

    The browser reaches the app only through a relay on ``port``. set_offline
    alone lets the keepalive beacon an unloading page sends (sendBeacon on
    pagehide) reach the server, which a real outage would not (observed with
    Debian's chromium; page/context routes do not see that beacon either), so
    going offline also makes the relay reset every open and new connection.
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.online = True
        self.reset = 0  # connections refused or cut while offline
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        self.context: Any = None
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _kill(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))  # close with RST
            sock.shutdown(socket.SHUT_RDWR)
        sock.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            if not self.online:
                self.reset += 1
                self._kill(client)
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream))
            except OSError:
                self._kill(client)
                continue
            with self._lock:
                self._open |= {client, upstream}
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            with self._lock:
                self._open -= {src, dst}
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    def set_offline(self, offline: bool) -> None:
        self.online = not offline
        if offline:
            with self._lock:
                cut, self._open = self._open, set()
            self.reset += len(cut) // 2
            for sock in cut:
                self._kill(sock)
        if self.context is not None:
            self.context.set_offline(offline)  # navigator.onLine and the offline/online events

    def close(self) -> None:
        self._server.close()
        self.set_offline(True)


@contextmanager
def chromium(app_port: int, session: str) -> Iterator[tuple[Network, Any]]:
    """(network, page): a browser logged in to the app on ``app_port``, reaching it through a cuttable relay."""
    from playwright.sync_api import sync_playwright

    network = Network(app_port)
    base_url = f"http://127.0.0.1:{network.port}"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=shutil.which("chromium"), args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1200, "height": 900}, base_url=base_url)
        context.add_cookies([{"name": "sessionid", "value": session, "url": base_url}])
        network.context = context
        page = context.new_page()
        try:
            yield network, page
        finally:
            network.context = None
            network.close()
            context.close()
            browser.close()
