"""A small threaded TCP proxy on 127.0.0.1 that a test can cut and restore.

It stands between the gateway and PostgreSQL so a test can take the database away
without touching the shared server:

- `cut()` closes every connection in flight and refuses new ones (the listening
  socket is closed, so a connect fails at once with "connection refused");
- `blackhole()` keeps connections open but forwards nothing (a network partition:
  what a dead host behind a firewall looks like), and new connections hang;
- `restore()` forwards again, on the same port.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from types import TracebackType

CHUNK = 65536


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._lock = threading.Lock()
        self._conns: set[socket.socket] = set()
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._closed = False
        self._listener: socket.socket | None = None
        self.port = 0
        self.accepted = 0
        self._listen()

    # --- control ----------------------------------------------------------------------

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def cut(self) -> None:
        """Close every connection and refuse new ones until `restore()`."""
        with self._lock:
            listener, self._listener = self._listener, None
        if listener is not None:
            _close(listener)
        self._drop_all()

    def blackhole(self) -> None:
        """Stop forwarding: connections stay open, bytes go nowhere, until `restore()`."""
        self._forwarding.clear()

    def restore(self) -> None:
        self._forwarding.set()
        with self._lock:
            listening = self._listener is not None
        if not listening and not self._closed:
            self._listen()

    def close(self) -> None:
        self._closed = True
        self._forwarding.set()
        self.cut()

    def __enter__(self) -> TcpProxy:
        return self

    def __exit__(
        self,
        _type: type[BaseException] | None,
        _value: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self.close()

    @contextlib.contextmanager
    def outage(self) -> Iterator[None]:
        self.cut()
        try:
            yield
        finally:
            self.restore()

    # --- machinery --------------------------------------------------------------------

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut or closed
            with self._lock:
                if self._listener is not listener:
                    _close(client)
                    return
                self.accepted += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        self._forwarding.wait()
        try:
            server = socket.create_connection(self.upstream, timeout=5)
            server.settimeout(None)
        except OSError:
            _close(client)
            return
        with self._lock:
            self._conns.update((client, server))
        for src, dst in ((client, server), (server, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(CHUNK)
                if not data:
                    break
                self._forwarding.wait()
                with self._lock:
                    alive = src in self._conns
                if not alive:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            self._drop(src, dst)

    def _drop(self, *socks: socket.socket) -> None:
        with self._lock:
            for s in socks:
                self._conns.discard(s)
        for s in socks:
            _close(s)

    def _drop_all(self) -> None:
        with self._lock:
            socks, self._conns = list(self._conns), set()
        for s in socks:
            _close(s)


def _close(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with contextlib.suppress(OSError):
        sock.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
