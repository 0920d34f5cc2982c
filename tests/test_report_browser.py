"""The HTML report in a real browser: headless Chromium driven over the DevTools protocol.

Checks: no console errors or exceptions, right-to-left layout, injected feedback markup shown as
text and never executed, charts drawn as SVG text. Skipped only when Chromium is not installed
(CI installs Debian's ``chromium``); needs the ``websocket-client`` package.

Run ``python tests/test_report_browser.py REPORT.html OUT.png`` to screenshot any report
(that is how docs/report.png is made).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or (
    "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
)
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
]


#: Dates (YYYY/MM/DD or YYYY-MM-DD in Persian or Arabic digits) whose year is drawn right of their day.
DATES_REVERSED = """
(() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const re = /[۰-۹٠-٩]{4}[-/][۰-۹٠-٩]{2}[-/][۰-۹٠-٩]{2}/g;
    let m;
    while ((m = re.exec(node.textContent))) {
      const year = document.createRange(), day = document.createRange();
      year.setStart(node, m.index); year.setEnd(node, m.index + 4);
      day.setStart(node, m.index + 8); day.setEnd(node, m.index + 10);
      const y = year.getBoundingClientRect(), d = day.getBoundingClientRect();
      if (y.width && d.width && y.top === d.top && y.left > d.left) out.push(m[0]);
    }
  }
  return out;
})()
"""


class Browser:
    """One headless Chromium with one page, driven by CDP commands over a websocket."""

    def __init__(self, width: int = 1280, height: int = 2400):
        import websocket  # websocket-client

        self._profile = tempfile.mkdtemp(prefix="chromium-")
        self._proc = subprocess.Popen(
            [
                CHROMIUM,
                *FLAGS,
                f"--user-data-dir={self._profile}",
                f"--window-size={width},{height}",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        port_file = Path(self._profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.is_file() and len(port_file.read_text().split()) >= 2):
            if time.monotonic() > deadline or self._proc.poll() is not None:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.1)
        port = port_file.read_text().split()[0]
        from urllib.request import urlopen

        targets = json.loads(urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10).read())
        page = next(t for t in targets if t["type"] == "page")
        self._ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=30, suppress_origin=True
        )
        self._id = 0
        self.events: list[dict] = []
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )

    def send(self, method: str, **params) -> dict:
        self._id += 1
        self._ws.send(json.dumps({"id": self._id, "method": method, "params": params}))
        while True:
            message = json.loads(self._ws.recv())
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, method: str, timeout: float = 30) -> None:
        if any(e.get("method") == method for e in self.events):
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            message = json.loads(self._ws.recv())
            self.events.append(message)
            if message.get("method") == method:
                return
        raise TimeoutError(method)

    def open(self, path: Path) -> None:
        self.events.clear()
        self.send("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.evaluate("document.fonts.ready.then(() => true)")

    def evaluate(self, expression: str):
        result = self.send(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        return result["result"].get("value")

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            method, params = e.get("method"), e.get("params", {})
            if method == "Runtime.exceptionThrown":
                out.append(json.dumps(params.get("exceptionDetails", {}), ensure_ascii=False)[:300])
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append(json.dumps(params.get("args", []), ensure_ascii=False)[:300])
            elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
                out.append(params["entry"].get("text", ""))
        return out

    def screenshot(self, path: Path) -> None:
        data = self.send("Page.captureScreenshot", format="png")["data"]
        path.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        ws = getattr(self, "_ws", None)
        if ws is not None:
            ws.close()
        self._proc.terminate()
        try:
            self._proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        shutil.rmtree(self._profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser():
    if CHROMIUM is None:
        pytest.skip(
            "chromium is not installed (apt-get install chromium fonts-noto-core); CI installs it"
        )
    pytest.importorskip("websocket", reason="websocket-client is needed to drive chromium over CDP")
    b = Browser()
    yield b
    b.close()


@pytest.fixture(scope="module")
def report_dirs(tmp_path_factory):
    from test_report import build

    root = tmp_path_factory.mktemp("browser")
    return {"fa": build(root, "fa", "fa"), "ar": build(root, "ar", "ar")}


@pytest.mark.parametrize("lang", ["fa", "ar"])
def test_report_renders_rtl_without_errors_and_injection_stays_text(
    browser, report_dirs, lang, tmp_path
):
    browser.open(report_dirs[lang] / "report.html")
    assert browser.errors() == []
    assert browser.evaluate("document.title").startswith(("گزارش", "تقرير"))
    assert browser.evaluate("document.title.includes('PWNED')") is False
    assert browser.evaluate("document.documentElement.dir") == "rtl"
    assert browser.evaluate("document.documentElement.lang") == lang
    assert browser.evaluate("getComputedStyle(document.body).direction") == "rtl"
    assert browser.evaluate("document.scripts.length") == 0
    assert browser.evaluate("document.querySelectorAll('img').length") == 0
    # the injected markup is visible as text
    assert browser.evaluate(
        "document.body.textContent.includes(\"<script>document.title='PWNED'</script>\")"
    )
    assert browser.evaluate("document.body.textContent.includes('<img src=x onerror=')")
    # charts are inline SVG with their labels as text the browser shapes
    assert browser.evaluate("document.querySelectorAll('svg text').length") > 10
    assert browser.evaluate(
        "[...document.querySelectorAll('svg text')].some(t => /[\\u0600-\\u06FF]/.test(t.textContent))"
    )
    # the table headers sit at the right edge of their cells (RTL tables)
    assert browser.evaluate(
        "getComputedStyle(document.querySelector('th:not(.num)')).textAlign"
    ) in ("right", "start")
    # dates in Persian/Arabic digits inside RTL prose read left to right (year first)
    assert browser.evaluate(DATES_REVERSED) == []
    shot = tmp_path / f"report-{lang}.png"
    browser.screenshot(shot)
    assert shot.stat().st_size > 10_000


def test_csp_blocks_an_inline_script_that_slipped_through(browser, tmp_path, report_dirs):
    """Defence in depth: even unescaped markup could not run, the page's CSP forbids scripts."""
    html = (report_dirs["fa"] / "report.html").read_text(encoding="utf-8")
    planted = html.replace("</body>", "<script>document.title='PWNED'</script></body>")
    path = tmp_path / "planted.html"
    path.write_text(planted, encoding="utf-8")
    browser.open(path)
    assert "PWNED" not in browser.evaluate("document.title")
    assert any("Content Security Policy" in e for e in browser.errors())


def main(argv: list[str]) -> None:
    """Screenshot ``argv[0]`` (an HTML report) into ``argv[1]`` at 1280×2400."""
    if CHROMIUM is None:
        raise SystemExit("chromium is not installed")
    b = Browser()
    try:
        b.open(Path(argv[0]))
        errors = b.errors()
        b.screenshot(Path(argv[1]))
    finally:
        b.close()
    print(json.dumps({"errors": errors, "screenshot": argv[1]}, ensure_ascii=False))


if __name__ == "__main__":
    main(sys.argv[1:])
