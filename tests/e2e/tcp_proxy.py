"""A TCP proxy a test can cut: the database "goes away" for the processes behind it.

Threads, not the test's event loop, move the bytes, so a test that blocks (a CLI
subprocess, a sleep) never stalls the connections it is not cutting.

`cut()` closes every open connection (both sides, at once) and stops listening, so
new connections are refused; `restore()` listens again on the same port.
"""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(self, target_host: str, target_port: int, host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.host = host
        self.port = 0
        self.connections_accepted = 0
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()

    # -- control -------------------------------------------------------------------------

    def start(self) -> TcpProxy:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(128)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._stop = threading.Event()
        self._accepting = threading.Thread(
            target=self._accept_loop, args=(listener, self._stop), daemon=True
        )
        self._accepting.start()
        return self

    def cut(self) -> None:
        """Refuse new connections and drop every open one."""
        self._stop.set()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
            self._accepting = None
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        with self._lock:
            doomed, self._open = self._open, set()
        for sock in doomed:  # the pump threads see end-of-file and close them
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def restore(self) -> None:
        """Listen again on the same port."""
        self.start()

    def stop(self) -> None:
        self.cut()

    @property
    def cut_off(self) -> bool:
        return self._listener is None

    # -- moving bytes --------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket, stop: threading.Event) -> None:
        sel = selectors.DefaultSelector()
        sel.register(listener, selectors.EVENT_READ)
        try:
            while not stop.is_set():
                if not sel.select(timeout=0.05):
                    continue
                try:
                    client, _ = listener.accept()
                except OSError:
                    return
                try:
                    upstream = socket.create_connection(self.target, timeout=5)
                    upstream.settimeout(None)
                except OSError:
                    client.close()
                    continue
                for s in (client, upstream):
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                with self._lock:
                    if stop.is_set():
                        client.close()
                        upstream.close()
                        return
                    self._open |= {client, upstream}
                    self.connections_accepted += 1
                threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        finally:
            sel.close()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        peer = {a: b, b: a}
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ)
        sel.register(b, selectors.EVENT_READ)
        try:
            while True:
                for key, _ in sel.select(timeout=0.5):
                    src = key.fileobj
                    assert isinstance(src, socket.socket)
                    data = src.recv(65536)
                    if not data:
                        return
                    peer[src].sendall(data)
                with self._lock:
                    if a not in self._open:
                        return
        except (OSError, ValueError):
            return
        finally:
            sel.close()
            with self._lock:
                self._open -= {a, b}
            for s in (a, b):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)
                s.close()
