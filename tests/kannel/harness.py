"""A real Kannel for the tests: bearerbox, smsbox and Kannel's own test SMSC.

`fakesmsc` runs in its interactive mode: each line written to its standard input is one
MO ("sender receiver text words" or "sender receiver ucs2 <url-encoded UTF-16BE>"), and
every MT that bearerbox hands it is logged as `Got message N: <sender receiver type
data>`, which `Kannel.sent_to_phones()` reads back. Every wait is bounded.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

FAKESMSC = "/usr/lib/kannel/test/fakesmsc"
BINARIES = ("bearerbox", "smsbox")
DEFAULT_PORTS = "14000-14499"  # override with KANNEL_TEST_PORTS=LOW-HIGH
START_SECONDS = 20.0
STOP_SECONDS = 8.0
_GOT = re.compile(r"Got message \d+: <(.*)>$")


def missing_kannel() -> str | None:
    """Why Kannel cannot run here, or None when it can."""
    absent = [b for b in BINARIES if shutil.which(b) is None]
    if not os.access(FAKESMSC, os.X_OK):
        absent.append(FAKESMSC)
    if absent:
        return "Kannel is not installed (scripts/setup_kannel as root): missing " + ", ".join(
            absent
        )
    return None


def free_ports(count: int, spec: str | None = None) -> list[int]:
    """`count` loopback ports nobody listens on, from the range `LOW-HIGH`."""
    spec = spec or os.environ.get("KANNEL_TEST_PORTS") or DEFAULT_PORTS
    low, high = (int(p) for p in spec.split("-"))
    found: list[int] = []
    for port in range(low, high + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise RuntimeError(f"fewer than {count} free ports in {low}-{high}")


def wait_until(check: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"waited {seconds:.0f} s for {what}")


def listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.2)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class Mt:
    """An SMS that Kannel handed to the fake SMSC (to a phone)."""

    sender: str
    receiver: str
    kind: str  # text, data, ucs-2, udh
    text: str


def parse_mt(line: str) -> Mt:
    sender, receiver, kind, data = [*line.split(" ", 3), "", "", ""][:4]
    if kind == "text":
        return Mt(sender, receiver, kind, data)
    raw = urllib.parse.unquote_to_bytes(data.split(" ")[-1].replace("+", " "))
    if kind in ("ucs-2", "ucs2"):
        return Mt(sender, receiver, kind, raw.decode("utf-16-be"))
    try:
        return Mt(sender, receiver, kind, raw.decode("utf-8"))
    except UnicodeDecodeError:
        return Mt(sender, receiver, kind, raw.decode("latin-1"))


@dataclass
class Kannel:
    """One Kannel with a fake SMSC, configured in `folder` on free loopback ports."""

    folder: Path
    get_url: str  # the sms-service get-url, with Kannel's escape codes
    ports: dict[str, int] = field(default_factory=dict)
    username: str = "gateway"
    password: str = "test-sendsms-password"
    smsc_id: str = "fake1"
    _procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _fake_lines: list[str] = field(default_factory=list)
    _fake_cond: threading.Condition = field(default_factory=threading.Condition)
    _mo_count: int = 0

    @property
    def send_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['sendsms']}/cgi-bin/sendsms"

    def config(self) -> str:
        p, d = self.ports, self.folder
        return f"""\
group = core
admin-port = {p["admin"]}
admin-interface = 127.0.0.1
admin-password = test-admin
admin-allow-ip = 127.0.0.1
smsbox-port = {p["smsbox"]}
box-allow-ip = 127.0.0.1
log-file = "{d / "bearerbox.log"}"
log-level = 1
store-type = spool
store-location = "{d / "spool"}"
dlr-storage = internal

group = smsc
smsc = fake
smsc-id = {self.smsc_id}
port = {p["fake"]}
our-host = 127.0.0.1
connect-allow-ip = 127.0.0.1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = {p["smsbox"]}
sendsms-port = {p["sendsms"]}
sendsms-interface = 127.0.0.1
log-file = "{d / "smsbox.log"}"
log-level = 1
http-request-retry = 5
http-queue-delay = 1

group = sendsms-user
username = {self.username}
password = {self.password}
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "{self.get_url}"
"""

    def start(self) -> None:
        (self.folder / "spool").mkdir(parents=True, exist_ok=True)
        conf = self.folder / "kannel.conf"
        conf.write_text(self.config(), "utf-8")
        self._spawn("bearerbox", ["bearerbox", str(conf)])
        wait_until(lambda: listening(self.ports["smsbox"]), START_SECONDS, "bearerbox")
        self._spawn("smsbox", ["smsbox", str(conf)])
        wait_until(lambda: listening(self.ports["sendsms"]), START_SECONDS, "smsbox")
        wait_until(lambda: listening(self.ports["fake"]), START_SECONDS, "the fake SMSC port")
        self._start_fakesmsc()

    def _spawn(self, name: str, argv: list[str], piped: bool = False) -> subprocess.Popen[bytes]:
        """Start one process; a piped one (fakesmsc) talks through stdin and stdout."""
        out = subprocess.PIPE if piped else (self.folder / f"{name}.out").open("wb")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE if piped else subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        self._procs[name] = proc
        return proc

    def _start_fakesmsc(self) -> None:
        argv = [FAKESMSC, "-H", "127.0.0.1", "-r", str(self.ports["fake"])]
        proc = self._spawn("fakesmsc", argv, piped=True)
        threading.Thread(target=self._read_fakesmsc, args=(proc,), daemon=True).start()
        wait_until(self._fake_connected, START_SECONDS, "fakesmsc to connect")

    def _fake_connected(self) -> bool:
        log = self.folder / "bearerbox.log"
        return log.exists() and "Fakesmsc client connected" in log.read_text("utf-8", "replace")

    def _read_fakesmsc(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        with (self.folder / "fakesmsc.out").open("ab") as copy:
            for raw in proc.stdout:
                copy.write(raw)
                copy.flush()
                with self._fake_cond:
                    self._fake_lines.append(raw.decode("utf-8", "replace").rstrip("\n"))
                    self._fake_cond.notify_all()

    def _wait_fake(self, check: Callable[[list[str]], bool], seconds: float, what: str) -> None:
        with self._fake_cond:
            if not self._fake_cond.wait_for(lambda: check(self._fake_lines), seconds):
                raise TimeoutError(f"waited {seconds:.0f} s for fakesmsc: {what}")

    def type_mo(self, sender: str, text: str, receiver: str = "36000") -> None:
        """A phone sends `text`: GSM text as it is, anything else as UCS-2."""
        if all(32 <= ord(c) < 127 for c in text):
            line = f"{sender} {receiver} text {text}\n"
        else:
            line = f"{sender} {receiver} ucs2 {urllib.parse.quote(text.encode('utf-16-be'))}\n"
        if len(line.encode()) >= 255:
            raise ValueError("fakesmsc reads at most 255 bytes a line")
        proc = self._procs["fakesmsc"]
        assert proc.stdin is not None
        proc.stdin.write(line.encode("ascii"))
        proc.stdin.flush()
        self._mo_count += 1
        n = self._mo_count
        # fakesmsc reads stdin with fgets: one line per wake-up, so wait for each.
        self._wait_fake(
            lambda lines: any(re.search(rf"sent message {n}\b", x) for x in lines),
            10.0,
            f"MO {n} to be sent",
        )

    def sent_to_phones(self) -> list[Mt]:
        with self._fake_cond:
            return [parse_mt(m.group(1)) for x in self._fake_lines if (m := _GOT.search(x))]

    def wait_for_mt(self, count: int = 1, seconds: float = 15.0) -> list[Mt]:
        """The MTs received so far, once there are at least `count` of them."""
        self._wait_fake(
            lambda lines: sum(1 for x in lines if _GOT.search(x)) >= count,
            seconds,
            f"{count} MT(s)",
        )
        return self.sent_to_phones()

    def stop(self) -> None:
        """Stop every process, the fake SMSC first; kill what does not stop in time."""
        for name in ("fakesmsc", "smsbox", "bearerbox"):
            proc = self._procs.pop(name, None)
            if proc is None or proc.poll() is not None:
                continue
            proc.send_signal(signal.SIGINT if name == "fakesmsc" else signal.SIGTERM)
            try:
                proc.wait(timeout=STOP_SECONDS)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=STOP_SECONDS)

    def logs(self) -> Iterator[tuple[str, str]]:
        for name in ("bearerbox.log", "smsbox.log", "fakesmsc.out"):
            path = self.folder / name
            if path.exists():
                yield name, path.read_text("utf-8", "replace")[-4000:]
