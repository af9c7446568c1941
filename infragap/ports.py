"""Loopback ports: pick free ones, refuse busy ones with a clear error."""

from __future__ import annotations

import socket

from infragap.errors import PortBusy

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A port the OS says is free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


def is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


def choose_port(requested: int | None, option: str) -> int:
    """The requested port if it is free (else PortBusy naming `option`), or a free one."""
    if requested is None:
        return free_port()
    if not is_free(requested):
        raise PortBusy(requested, option)
    return requested
