"""A loopback TCP proxy that tests cut and restore, to stage network outages.

It listens on 127.0.0.1 (an OS-chosen port that stays the same across cuts)
and forwards every connection to a port on 127.0.0.1 — never anywhere else.
A test points a client at the proxy, then breaks the path on purpose::

    with TCPProxy(5432) as proxy:
        store = PostgresStore(proxy.url("postgresql://postgres@127.0.0.1:5432/test"))
        store.count()          # works through the proxy
        proxy.cut()            # live connections reset, new ones refused
        ...                    # the store raises StoreUnavailableError
        proxy.restore()        # accepting and forwarding again
        store.count()          # the store reconnected

``cut(reset=..., refuse=...)`` chooses what breaks: resetting live
connections (what a server restart or a dropped NAT entry looks like to a
client) and/or refusing new ones (a server that is down). ``stall()`` is a
black hole instead: connections are accepted but no byte moves in either
direction until ``restore()`` — a frozen server or a partitioned network,
where only timeouts help.

Threads: one accepts, two pump each connection. Everything is bounded: every
blocking call has a short timeout, and the proxy closes itself after
``lifetime`` seconds even if a test forgets to, so it can never keep a test
run alive.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Literal, Self
from urllib.parse import urlsplit, urlunsplit

__all__ = ["TCPProxy"]

_HOST = "127.0.0.1"
_TICK = 0.05  # how often blocked threads look at the proxy's state
_CHUNK = 65536

State = Literal["open", "cut", "stalled", "closed"]


def _reset(sock: socket.socket) -> None:
    """Close *sock* with an RST, as a crashed peer or a restarted server would."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class TCPProxy:
    """Forward ``127.0.0.1:<port>`` to ``127.0.0.1:<target_port>``, with outages on demand.

    Start it with :meth:`start` or ``with``; :attr:`port` is where clients
    connect; :meth:`url` rewrites a database URL to go through the proxy.
    """

    def __init__(self, target_port: int, *, lifetime: float = 120.0) -> None:
        if not 0 < target_port < 65536:
            raise ValueError(f"target_port={target_port!r}: not a TCP port")
        self.target_port = target_port
        self.lifetime = lifetime
        self.port = 0
        self.accepted = 0
        self._lock = threading.Lock()
        self._state: State = "open"
        self._listener: socket.socket | None = None
        self._pairs: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[socket.socket] = []  # accepted while stalled, not yet forwarded
        self._flowing = threading.Event()
        self._flowing.set()
        self._threads: list[threading.Thread] = []
        self._deadline = 0.0

    # -- public API

    def start(self) -> Self:
        """Bind the listening port and start accepting; returns the proxy."""
        with self._lock:
            if self._listener is not None or self._state == "closed":
                raise RuntimeError("TCPProxy.start(): already started (or closed)")
            self._listener = self._listen(0)
            self.port = self._listener.getsockname()[1]
            self._deadline = time.monotonic() + self.lifetime
        self._spawn(self._accept_loop, "tcp-proxy-accept")
        return self

    def url(self, url: str) -> str:
        """*url* with its host and port replaced by the proxy's (user and path kept)."""
        parts = urlsplit(url)
        user, at, _ = parts.netloc.rpartition("@")
        return urlunsplit(parts._replace(netloc=f"{user}{at}{_HOST}:{self.port}"))

    @property
    def state(self) -> State:
        """``"open"``, ``"cut"``, ``"stalled"`` or ``"closed"``."""
        return self._state

    @property
    def connections(self) -> int:
        """How many connections are being forwarded right now."""
        with self._lock:
            return len(self._pairs)

    def cut(self, *, reset: bool = True, refuse: bool = True) -> None:
        """Break the path: *reset* live connections (RST both ways), *refuse* new ones.

        With ``refuse=False`` new connections are still forwarded (a blip
        that kills what is open); with ``reset=False`` open connections keep
        working while new ones are refused.
        """
        with self._lock:
            self._check_not_closed()
            if refuse and self._listener is not None:
                self._unlisten()
            if reset:
                self._reset_all()
            self._flowing.set()
            self._state = "cut"

    def stall(self) -> None:
        """Black-hole the path: accept connections but forward nothing until :meth:`restore`."""
        with self._lock:
            self._check_not_closed()
            if self._listener is None:
                self._listener = self._listen(self.port)
            self._flowing.clear()
            self._state = "stalled"

    def restore(self) -> None:
        """Accept and forward again; connections held by :meth:`stall` are forwarded now."""
        with self._lock:
            self._check_not_closed()
            if self._listener is None:
                self._listener = self._listen(self.port)
            held, self._held = self._held, []
            self._flowing.set()
            self._state = "open"
        for client in held:
            self._forward(client)

    def close(self) -> None:
        """Stop accepting, reset every connection and wait (briefly) for the threads."""
        with self._lock:
            if self._state == "closed":
                return
            self._state = "closed"
            if self._listener is not None:
                self._unlisten()
            self._reset_all()
            self._flowing.set()
        current = threading.current_thread()
        for thread in self._threads:
            if thread is not current:
                thread.join(timeout=2)

    def __enter__(self) -> Self:
        return self.start() if self._listener is None and self._state == "open" else self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<TCPProxy {_HOST}:{self.port} -> {_HOST}:{self.target_port} {self._state}>"

    # -- internals

    def _check_not_closed(self) -> None:
        if self._state == "closed":
            raise RuntimeError("this TCPProxy is closed")

    @staticmethod
    def _listen(port: int) -> socket.socket:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # Rebinding the same port right after a cut must not wait for TIME_WAIT.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        deadline = time.monotonic() + 2
        while True:
            try:
                sock.bind((_HOST, port))
                break
            except OSError:
                # The old listener may linger for a moment in the accept thread.
                if time.monotonic() > deadline:
                    sock.close()
                    raise
                time.sleep(_TICK)
        sock.listen(64)
        sock.settimeout(_TICK)
        return sock

    def _unlisten(self) -> None:
        """Stop listening now: new connections are refused from this moment."""
        assert self._listener is not None
        # shutdown() makes the kernel drop the listening socket at once (and
        # wakes a blocked accept()); close() alone would wait for that call.
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._listener = None

    def _reset_all(self) -> None:
        for client, upstream in self._pairs:
            _reset(client)
            _reset(upstream)
        self._pairs.clear()
        for client in self._held:
            _reset(client)
        self._held.clear()

    def _spawn(self, target: Callable[..., None], name: str, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()]
        self._threads.append(thread)
        thread.start()

    def _expired(self) -> bool:
        return self._state == "closed" or time.monotonic() > self._deadline

    def _accept_loop(self) -> None:
        while not self._expired():
            listener = self._listener
            if listener is None:  # refusing: wait for restore()
                time.sleep(_TICK)
                continue
            try:
                client, _ = listener.accept()
            except (TimeoutError, OSError):  # a tick passed, or cut() closed the listener
                continue
            self.accepted += 1
            with self._lock:
                if self._state == "stalled":
                    self._held.append(client)
                    continue
            self._forward(client)
        self.close()

    def _forward(self, client: socket.socket) -> None:
        try:
            upstream = socket.create_connection((_HOST, self.target_port), timeout=3)
        except OSError:
            _reset(client)
            return
        with self._lock:
            if self._state == "closed":
                _reset(client)
                _reset(upstream)
                return
            self._pairs.append((client, upstream))
        for sock in (client, upstream):
            sock.settimeout(_TICK)
        self._spawn(self._pump, "tcp-proxy-pump", client, upstream)
        self._spawn(self._pump, "tcp-proxy-pump", upstream, client)

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while not self._expired():
            if not self._flowing.wait(_TICK):
                continue
            try:
                data = source.recv(_CHUNK)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data or not self._send(target, data):  # closed by either side
                break
        self._forget(source, target)

    def _send(self, target: socket.socket, data: bytes) -> bool:
        """Send all of *data*, waiting while stalled or while the peer reads slowly."""
        view = memoryview(data)
        while view:
            if self._expired():
                return False
            if not self._flowing.wait(_TICK):  # stalled after the read: hold the bytes
                continue
            try:
                sent = target.send(view)
            except TimeoutError:  # the peer's buffer is full; nothing was sent
                continue
            except OSError:
                return False
            view = view[sent:]
        return True

    def _forget(self, a: socket.socket, b: socket.socket) -> None:
        with self._lock:
            for pair in ((a, b), (b, a)):
                if pair in self._pairs:
                    self._pairs.remove(pair)
                    # The other pump still reads; closing ends it.
                    for sock in pair:
                        with contextlib.suppress(OSError):
                            sock.close()
