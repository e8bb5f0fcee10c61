"""Drive one notebook in JupyterLab as a reader does: open it, Run All Cells, move a slider, look.

What the reader would see is read from the page (prompts, outputs, the figure's pixels). What
the reader could miss is read from the kernel's own messages, as the page receives them on its
kernel websocket: an exception raised in a widget callback runs in the kernel's comm handler,
belongs to no cell, and JupyterLab shows it only in its log console, so the page alone would
never show it.

Every wait polls with ``page.wait_for_timeout`` (which also lets Playwright deliver the page's
events) until a generous deadline; a slow kernel costs time, never a wrong verdict.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from io import BytesIO
from typing import TYPE_CHECKING, Any, Callable

from lab_server import LabServer
from PIL import Image, ImageChops

if TYPE_CHECKING:  # playwright is imported by the fixtures that launch the browser
    from playwright.sync_api import Locator, Page, WebSocket

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # the unit tests of this module run without playwright
    PlaywrightTimeout = TimeoutError

POLL_MS = 500
WIDGET_ERRORS = ("Error displaying widget", "Error rendering output item")
LOADING = "Loading widget..."  # a widget view the front-end never managed to build stays like this


@dataclass
class KernelMessage:
    at: float  # time.monotonic() when the page received it
    channel: str
    msg_type: str
    parent_type: str
    content: dict[str, Any]


def decode_frame(payload: str | bytes) -> KernelMessage | None:
    """A kernel websocket frame: JSON text (legacy protocol) or v1.kernel.websocket.jupyter.org."""
    if isinstance(payload, bytes):
        from jupyter_server.services.kernels.connection.base import deserialize_msg_from_ws_v1

        channel, parts = deserialize_msg_from_ws_v1(payload)
        header, parent, content = (json.loads(parts[i]) for i in (0, 1, 3))
    else:
        msg = json.loads(payload)
        if "header" not in msg:
            return None
        channel, header, parent, content = msg.get("channel", ""), msg["header"], msg["parent_header"], msg["content"]
    return KernelMessage(
        time.monotonic(), channel, header.get("msg_type", ""), (parent or {}).get("msg_type", ""), content
    )


def kernel_problem(m: KernelMessage) -> str | None:
    """An error the kernel published (in a cell or in a widget callback), or None."""
    where = "a widget callback" if m.parent_type == "comm_msg" else m.parent_type or "the kernel"
    if m.channel == "iopub" and m.msg_type == "error":
        return f"{m.content.get('ename')}: {m.content.get('evalue')} (raised in {where})"
    if m.channel == "iopub" and m.msg_type == "stream" and m.content.get("name") == "stderr":
        text = str(m.content.get("text", ""))
        if "Traceback (most recent call last)" in text:
            return f"a traceback on stderr in {where}: {text.strip().splitlines()[-1]}"
    return None


def changed_pixels(before: bytes, after: bytes) -> tuple[int, int]:
    """(pixels that differ, pixels in all) between two PNG screenshots; a resize counts every pixel."""
    a, b = (Image.open(BytesIO(x)).convert("RGB") for x in (before, after))
    if a.size != b.size:
        return max(a.size[0] * a.size[1], b.size[0] * b.size[1]), max(a.size[0] * a.size[1], b.size[0] * b.size[1])
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v else 0)
    return diff.histogram()[255], a.size[0] * a.size[1]


@dataclass
class NotebookPage:
    page: Page
    server: LabServer
    name: str  # path relative to the served root
    messages: list[KernelMessage] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def open(self, timeout: float = 300.0) -> NotebookPage:
        """Load JupyterLab on the notebook and wait until its kernel is up and idle."""
        self.page.on("websocket", self._watch)
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.page.goto(self.server.url(f"lab/tree/{self.name}?reset"), timeout=timeout * 1000)
        self.wait(
            lambda: self.page.locator(".jp-NotebookPanel .jp-Cell").count() > 0, timeout, "the notebook to render"
        )
        self.wait(lambda: self.kernel_state() == "idle", timeout, "the kernel to start")
        return self

    def _watch(self, ws: WebSocket) -> None:
        if "/api/kernels/" in ws.url and "/channels" in ws.url:
            ws.on("framereceived", self._on_frame)

    def _on_frame(self, payload: str | bytes) -> None:
        try:
            m = decode_frame(payload)
        except (ValueError, KeyError, IndexError, UnicodeDecodeError) as e:
            self.page_errors.append(f"undecodable kernel message: {e}")
            return
        if m is not None:
            self.messages.append(m)

    def wait(self, ready: Callable[[], bool], timeout: float, what: str, stable: int = 1) -> None:
        """Poll `ready` until it holds on `stable` polls in a row; TimeoutError after `timeout` s."""
        deadline, streak = time.monotonic() + timeout, 0
        while True:
            streak = streak + 1 if ready() else 0
            if streak >= stable:
                return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: waited {timeout:.0f} s for {what}; kernel {self.kernel_state()}")
            self.page.wait_for_timeout(POLL_MS)

    def kernel_state(self) -> str:
        s = self.server.session(self.name)
        return "no session" if s is None else str(s["kernel"]["execution_state"])

    def prompts(self) -> list[str]:
        """The input prompts of every code cell: ``[3]:``, ``[*]:`` (running or queued), ``[ ]:``."""
        return [p.strip() for p in self.page.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()]

    def problems(self, since: float = 0.0) -> list[str]:
        """Errors from the kernel (cells and callbacks) and the page, received after `since`."""
        found = [p for m in self.messages if m.at >= since and (p := kernel_problem(m))]
        found += [f"page error: {e}" for e in self.page_errors]
        if self.kernel_state() == "dead":
            found.append("the kernel died")
        for text in self.page.locator(".jp-OutputArea-output").all_inner_texts():
            found += [f"widget not shown: {w!r}" for w in WIDGET_ERRORS if w in text]
        return found

    def run_all(self, timeout: float = 900.0) -> None:
        """Run > Run All Cells, and wait until every cell ran (or one failed) and the kernel is idle."""
        start = time.monotonic()
        item = self.page.get_by_role("menuitem", name="Run All Cells", exact=True)
        for _try in range(3):  # a click on the menu bar lost under load: open the menu again
            self.page.get_by_role("menuitem", name="Run", exact=True).click()
            try:
                item.wait_for(state="visible", timeout=20_000)
                break
            except PlaywrightTimeout:
                self.page.keyboard.press("Escape")
        item.click()

        def done() -> bool:
            prompts = self.prompts()
            if any("*" in p for p in prompts) or self.kernel_state() != "idle":
                return False
            return all(p[1:-2].strip().isdigit() for p in prompts) or bool(self.problems(start))

        self.wait(done, timeout, "Run All Cells to finish", stable=2)
        outputs = self.page.locator(".jp-OutputArea-output")
        self.wait(lambda: not any(LOADING in t for t in outputs.all_inner_texts()), 120, "every widget to render")

    def sliders(self) -> dict[str, Locator]:
        """Every slider on the page by its description label (the first of each label)."""
        found: dict[str, Locator] = {}
        everything = self.page.locator(".widget-slider")
        for i in range(everything.count()):
            s = everything.nth(i)
            label = s.locator(".widget-label").first.inner_text().strip()
            found.setdefault(label, s)
        return found

    def figure_of(self, slider: Locator) -> Locator:
        """The Output widget drawn beside `slider` (itslab.widgets puts both in one VBox)."""
        box = slider.locator(
            "xpath=ancestor::div[contains(concat(' ', normalize-space(@class), ' '), ' widget-vbox ')][1]"
        )
        return box.locator(".widget-output").first

    def figure_png(self, slider: Locator, expect: str | None = None, timeout: float = 120.0) -> bytes:
        """A screenshot of the figure beside `slider` once it shows an image: the PNG `expect`
        (base64, as the kernel sent it) when given, else whatever image stays put for a second."""
        out = self.figure_of(slider)
        last: list[str | None] = [None]

        def shown() -> bool:
            imgs = out.locator("img")
            if imgs.count() == 0 or not imgs.first.evaluate("i => i.complete && i.naturalWidth > 0"):
                return False
            src, last[0] = last[0], "".join((imgs.first.get_attribute("src") or "").split())
            return last[0].endswith(expect) if expect else src == last[0]

        self.wait(shown, timeout, "the figure beside the slider to show its image", stable=2)
        return out.screenshot()

    def last_image(self, since: float) -> str | None:
        """The last PNG (base64) the kernel displayed after `since`, e.g. a callback's new figure."""
        pngs = [
            m.content.get("data", {}).get("image/png")
            for m in self.messages
            if m.at >= since and m.msg_type in ("display_data", "update_display_data")
        ]
        pngs = [p for p in pngs if p]
        return "".join(pngs[-1].split()) if pngs else None

    def move(self, slider: Locator, timeout: float = 300.0) -> float:
        """Move `slider` one step (left, or right at its left end) from the keyboard, as a reader
        can; wait until the kernel handled it. Returns when it moved (time.monotonic())."""
        handle = slider.locator(".noUi-handle").first
        readout = slider.locator(".widget-readout").first
        before = readout.inner_text()
        at_min = float(handle.get_attribute("aria-valuenow") or 0) <= float(handle.get_attribute("aria-valuemin") or 0)
        moved = time.monotonic()
        for attempt in range(3):  # a key press lost under load: press again (the readout says when it took)
            handle.focus()
            handle.press("ArrowRight" if at_min else "ArrowLeft")
            try:
                self.wait(lambda: readout.inner_text() != before, 20, "the slider's readout to change")
                break
            except TimeoutError:
                if attempt == 2:
                    raise

        def handled() -> bool:  # every comm message the move sent has been answered by busy ... idle
            states = [
                m.content.get("execution_state")
                for m in self.messages
                if m.at >= moved and m.msg_type == "status" and m.parent_type == "comm_msg"
            ]
            idle = states.count("idle")
            return idle >= 1 and idle == states.count("busy") and self.kernel_state() == "idle"

        self.wait(handled, timeout, "the kernel to handle the slider move")
        return moved
