"""Listening addresses: whether a server could listen on ``host:port``, checked by binding.

One check for every server zerodte starts (the dashboard, the data manager, the fake
Tradier), before the server is built, so an address in use or not this machine's is a clear
error instead of a log line from the server's thread.
"""

from __future__ import annotations

import socket


def bound_port(host: str, port: int = 0) -> int:
    """The port a server on ``host`` could listen on: ``port``, or a free one for 0.

    Raises
    ------
    OSError
        ``host`` is unknown or not this machine's address, or ``port`` is in use.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # as uvicorn binds: a port whose last connections are closing is free to take
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        return int(sock.getsockname()[1])
