"""The embedded web server as scripts/run and the Procfile start it (gunicorn with
`gateway.gunicorn_conf`), for the fault tests that need a real one."""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

GUNICORN = str(Path(sys.executable).with_name("gunicorn"))
ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serving(
    env: dict[str, str], port: int, log_path: Path, *args: str, boot_s: float = 60
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn on 127.0.0.1:`port`, once /healthz answers 200 (its output in
    `log_path`, shown if it dies while booting); stopped with SIGTERM afterwards."""
    command = [GUNICORN, "-c", "python:gateway.gunicorn_conf", "--bind", f"127.0.0.1:{port}"]
    log = log_path.open("wb")
    proc = subprocess.Popen(
        [*command, *args], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + boot_s
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):
                pass  # workers still booting (the listening socket queues the request)
            assert time.monotonic() < deadline, "gunicorn did not start"
            time.sleep(0.1)
        yield proc
    finally:
        stop(proc, grace_s=15)
        log.close()


def stop(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """SIGTERM, then SIGKILL if `proc` has not ended within `grace_s`."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
