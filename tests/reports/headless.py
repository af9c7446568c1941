"""Debian's headless Chromium driven over the DevTools protocol, for the report tests.

Starts `chromium` with a fresh profile and `--remote-debugging-port=0`, reads the port
from the profile's DevToolsActivePort file, opens one page, and records every network
request, console message and exception the page causes while it loads.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--disable-extensions",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
    "--remote-allow-origins=*",
)
START_TIMEOUT_S = 60.0
CALL_TIMEOUT_S = 60.0


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageLog:
    """What the page did while it loaded."""

    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    exceptions: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    def record(self, event: dict[str, Any]) -> None:
        method, params = event.get("method"), event.get("params") or {}
        if method == "Network.requestWillBeSent":
            self.requests.append(params["request"]["url"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            self.console_errors.append(json.dumps(params.get("args"))[:500])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.console_errors.append(params["entry"].get("text", "")[:500])
        elif method == "Runtime.exceptionThrown":
            self.exceptions.append(json.dumps(params.get("exceptionDetails"))[:500])
        elif method == "Page.javascriptDialogOpening":
            self.dialogs.append(str(params.get("message")))


class Browser:
    """One headless Chromium and one page in it; use as a context manager."""

    def __init__(self, executable: str, width: int = 1280, height: int = 900) -> None:
        self.profile = Path(tempfile.mkdtemp(prefix="infragap-chromium-"))
        self.process = subprocess.Popen(
            [
                executable,
                *FLAGS,
                f"--user-data-dir={self.profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.width, self.height = width, height
        self.ids = itertools.count(1)
        self.log = PageLog()
        self.socket: Any = None
        try:
            self._connect()
        except BaseException:
            self.close()  # never leave a Chromium behind when the set-up fails
            raise

    def _connect(self) -> None:
        try:
            import websocket
        except ImportError:
            raise RuntimeError("the browser test needs `pip install websocket-client`") from None
        self.socket = websocket.create_connection(
            self._browser_url(), timeout=CALL_TIMEOUT_S, suppress_origin=True
        )
        target = self.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        attached = self.call("Target.attachToTarget", {"targetId": target, "flatten": True})
        self.session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            {"width": self.width, "height": self.height, "deviceScaleFactor": 1, "mobile": False},
            session=True,
        )

    def _browser_url(self) -> str:
        port_file = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited with code {self.process.returncode}")
            with contextlib.suppress(OSError, ValueError):
                port, path = port_file.read_text().split("\n")[:2]
                if port and path:
                    return f"ws://127.0.0.1:{int(port)}{path}"
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port in time")

    def call(
        self, method: str, params: dict[str, Any] | None = None, session: bool = False
    ) -> dict[str, Any]:
        message: dict[str, Any] = {"id": next(self.ids), "method": method, "params": params or {}}
        if session:
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while time.monotonic() < deadline:
            reply = json.loads(self.socket.recv())
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method} failed: {reply['error']}")
                return dict(reply.get("result") or {})
            self.log.record(reply)
        raise TimeoutError(f"no answer to {method}")

    def wait_for(self, event: str) -> None:
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while time.monotonic() < deadline:
            message = json.loads(self.socket.recv())
            self.log.record(message)
            if message.get("method") == event:
                return
        raise TimeoutError(f"no {event} event")

    def open(self, path: Path) -> None:
        self.call("Page.navigate", {"url": path.resolve().as_uri()}, session=True)
        self.wait_for("Page.loadEventFired")

    def evaluate(self, expression: str) -> Any:
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session=True,
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"page script failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path, full_page: bool = True) -> Path:
        if full_page:
            size = self.call("Page.getLayoutMetrics", session=True)["cssContentSize"]
            self.call(
                "Emulation.setDeviceMetricsOverride",
                {
                    "width": self.width,
                    "height": int(size["height"]),
                    "deviceScaleFactor": 1,
                    "mobile": False,
                },
                session=True,
            )
        shot = self.call("Page.captureScreenshot", {"format": "png"}, session=True)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(shot["data"]))
        return path

    def close(self) -> None:
        if self.socket is not None:
            with contextlib.suppress(Exception):
                self.call("Browser.close")
            with contextlib.suppress(Exception):
                self.socket.close()
        else:
            self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.profile, ignore_errors=True)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


IMAGES_JS = """
(async () => {
  const images = [];
  for (const img of document.images) {
    let decoded = true, error = "";
    try { await img.decode(); } catch (e) { decoded = false; error = String(e); }
    images.push({alt: img.alt, scheme: img.currentSrc.split(":")[0],
                 naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight,
                 width: img.width, height: img.height, decoded, error});
  }
  const links = [...document.querySelectorAll('a[href^="#"]')];
  const broken = links.filter(a => !document.getElementById(a.hash.slice(1))).map(a => a.hash);
  return {images, scripts: document.scripts.length, brokenLinks: broken,
          title: document.title, textLength: document.body.innerText.length};
})()
"""
