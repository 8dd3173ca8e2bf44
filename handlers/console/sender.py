"""The console provider: prints each SMS and appends it to CONSOLE_SMS_FILE.

It doubles as the fake of the tests: it keeps what it sent in `sent`, and a `script`
of results makes it answer as a failing provider would.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from pathlib import Path

from gateway.config import Settings
from gateway.crypto import mask_phone
from gateway.ports import SendResult


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class ConsoleSender:
    """Sends nothing: prints `[sms +223******56] body` and appends one JSON line
    `{"to": masked, "body": ..., "at": ISO time}` to `sms_file` when given."""

    def __init__(
        self,
        sms_file: str | Path | None = None,
        *,
        name: str = "console",
        script: Iterable[SendResult] = (),
        now: Callable[[], dt.datetime] = _utcnow,
        echo: Callable[[str], None] | None = print,
    ) -> None:
        self.name = name
        self.sent: list[tuple[str, str]] = []
        self.attempts: list[tuple[str, str]] = []
        self._file = Path(sms_file) if sms_file else None
        self._script: deque[SendResult] = deque(script)
        self._now = now
        self._echo = echo
        # The outbox may share one sender between dispatcher threads.
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> ConsoleSender:
        clock = settings.extra.get("NOW")
        return cls(settings.console_sms_file, now=clock if callable(clock) else _utcnow)

    def fail_next(self, *results: SendResult) -> None:
        """Make the next sends answer `results`, in order, before sending again."""
        with self._lock:
            self._script.extend(results)

    def send(self, to_e164: str, body: str) -> SendResult:
        with self._lock:
            self.attempts.append((to_e164, body))
            if self._script:
                scripted = self._script.popleft()
                if scripted.outcome != "accepted":
                    return scripted
            self.sent.append((to_e164, body))
            line = {"to": mask_phone(to_e164), "body": body, "at": self._now().isoformat()}
            if self._file is not None:
                self._file.parent.mkdir(parents=True, exist_ok=True)
                with self._file.open("a", encoding="utf-8") as out:
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
        if self._echo is not None:
            self._echo(f"[sms {line['to']}] {body}")
        return SendResult.accepted(f"console-{uuid.uuid4()}")
