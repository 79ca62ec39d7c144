"""core/listening.py: a socket per API process on one port, the kernel spreading connections."""

from __future__ import annotations

import socket
from multiprocessing.reduction import ForkingPickler

import pytest

from core import listening

pytestmark = pytest.mark.skipif(not listening.supported(), reason="no SO_REUSEPORT here")


def as_in_a_new_process(sock: socket.socket) -> socket.socket:
    """What multiprocessing's spawn hands the process it starts."""
    return ForkingPickler.loads(bytes(ForkingPickler.dumps(sock)))


def test_each_process_gets_a_listening_socket_of_its_own_on_the_same_port():
    parent = listening.shared_port_socket("127.0.0.1", 0)
    port = parent.getsockname()[1]
    first, second = as_in_a_new_process(parent), as_in_a_new_process(parent)
    try:
        assert {first.getsockname()[1], second.getsockname()[1]} == {port}
        assert first.fileno() not in (parent.fileno(), second.fileno())
        for sock in (first, second):
            assert sock.getsockopt(socket.SOL_SOCKET, listening.REUSE_PORT) == 1
            sock.listen(64)
        accepted = spread(port, [first, second], connections=64)
        assert all(count > 0 for count in accepted)  # the kernel hashed them across both
    finally:
        for sock in (parent, first, second):
            sock.close()


def spread(port: int, listeners: list[socket.socket], connections: int) -> list[int]:
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(connections)]
    try:
        counts = []
        for listener in listeners:
            listener.setblocking(False)
            count = 0
            while True:
                try:
                    listener.accept()[0].close()
                    count += 1
                except BlockingIOError:
                    break
            counts.append(count)
        assert sum(counts) == connections
        return counts
    finally:
        for client in clients:
            client.close()


def test_a_port_in_use_is_an_error_not_a_silent_sharer():
    running = listening.shared_port_socket("127.0.0.1", 0)  # a gateway already on the port
    running_child = as_in_a_new_process(running)
    running_child.listen(8)
    try:
        with pytest.raises(OSError):
            listening.shared_port_socket("127.0.0.1", running.getsockname()[1])
    finally:
        running.close()
        running_child.close()
