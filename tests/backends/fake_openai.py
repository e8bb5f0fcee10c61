"""A scripted OpenAI-compatible server on 127.0.0.1 for the fault cases a real server cannot
produce on demand (a 500 then a 200, a 400, a 429, a reply slower than the client's timeout).

Each POST takes the next action of `script` (the last one repeats): an HTTP status (200 answers
a valid completions reply), or ``("sleep", seconds)`` before a 200. Requests are recorded.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeOpenAI:
    """Context manager: a threaded HTTP server following `script`; `.base_url`, `.requests`."""

    def __init__(self, script: list[Any], *, text: str = " 4", stop_reason: Any = None) -> None:
        self.script, self.text, self.stop_reason = list(script), text, stop_reason
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a: Any) -> None:  # keep test output clean
                pass

            def do_GET(self) -> None:
                self._send(200, {"object": "list", "data": [{"id": "fake-model", "object": "model"}]})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))) or b"{}")
                with fake._lock:
                    k = len(fake.requests)
                    fake.requests.append(body)
                    fake.headers.append(dict(self.headers))
                    action = fake.script[min(k, len(fake.script) - 1)]
                if isinstance(action, tuple) and action[0] == "sleep":
                    time.sleep(action[1])
                    action = 200
                if action == 200:
                    self._send(200, fake.reply(body))
                elif action == 429:
                    self._send(429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"})
                else:
                    self._send(int(action), {"error": {"message": f"scripted failure {action}"}})

            def _send(self, status: int, obj: Any, extra: dict[str, str] | None = None) -> None:
                data = json.dumps(obj).encode()
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(data)))
                    for k, v in (extra or {}).items():
                        self.send_header(k, v)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
                    pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        """A completions reply with `n` choices of `self.text`, two tokens each, with logprobs."""
        n = int(body.get("n", 1))
        toks = [self.text[:1], self.text[1:]] + ([body["stop"][0]] if body.get("stop") and self.stop_reason else [])
        choices = [
            {
                "index": i,
                "text": self.text,
                "finish_reason": "stop",
                "stop_reason": self.stop_reason,
                "logprobs": {"tokens": toks, "token_logprobs": [-0.5] * len(toks)},
            }
            for i in range(n)
        ]
        return {
            "id": "cmpl-fake",
            "object": "text_completion",
            "model": body.get("model"),
            "choices": choices,
            "usage": {
                "prompt_tokens": 7,
                "completion_tokens": len(toks) * n,
                "total_tokens": 7 + len(toks) * n,
                "prompt_tokens_details": {"cached_tokens": 3},
            },
        }

    @property
    def base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
