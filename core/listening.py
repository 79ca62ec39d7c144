"""The API's listening socket when several processes serve one port.

uvicorn's processes share one listening socket: whichever process wakes first accepts every
connection waiting, so a burst of keep-alive connections (a load balancer's pool, a client's
32) can all land on one process while the others idle. With SO_REUSEPORT each process listens
on a socket of its own and the kernel spreads new connections evenly among them, as nginx's
`reuse_port` and gunicorn's `--reuse-port` do.

`shared_port_socket()` is made in the supervising process and handed to uvicorn like the
socket it would bind itself. Each process it starts unpickles it (`__reduce_ex__`) as a new
socket bound to the same address with SO_REUSEPORT. The supervisor's own socket is bound but
never listens, so the kernel sends it no connection; it only holds the port.
"""

from __future__ import annotations

import socket
from typing import Any

REUSE_PORT = getattr(socket, "SO_REUSEPORT", None)  # Linux and the BSDs


def supported() -> bool:
    return REUSE_PORT is not None


def bound_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = _SharedPortSocket(family, socket.SOCK_STREAM) if reuse_port else \
        socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, REUSE_PORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


def shared_port_socket(host: str, port: int) -> socket.socket:
    """The supervisor's socket for `host:port`. The port is first bound without SO_REUSEPORT,
    so that a gateway still running on it is an error here (OSError: address in use) rather
    than a silent sharer of its connections."""
    bound_socket(host, port, reuse_port=False).close()
    return bound_socket(host, port, reuse_port=True)


def _in_new_process(family: int, address: tuple[Any, ...]) -> socket.socket:
    return bound_socket(address[0], address[1], reuse_port=True)


class _SharedPortSocket(socket.socket):
    """A socket that travels to a new process (multiprocessing's spawn pickles it) as a new
    socket of the same address with SO_REUSEPORT, instead of a duplicate of itself."""

    def __reduce_ex__(self, protocol: Any) -> tuple[Any, ...]:
        return _in_new_process, (self.family, self.getsockname())
