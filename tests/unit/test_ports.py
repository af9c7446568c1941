import socket

import pytest

from infragap.errors import PortBusy
from infragap.ports import LOOPBACK, choose_port, free_port


def test_busy_requested_port_names_the_option_and_the_fix():
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        holder.listen()
        busy = holder.getsockname()[1]
        with pytest.raises(PortBusy, match=f"port {busy} .* busy: pass another --triton-http-port"):
            choose_port(busy, "--triton-http-port")


def test_free_requested_port_is_kept_and_none_picks_one():
    port = free_port()
    assert choose_port(port, "--x") == port
    assert choose_port(None, "--x") > 0
