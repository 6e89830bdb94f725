"""`manage.py runserver` (what `make run` starts) sends answers without waiting on the client's ACK."""

from __future__ import annotations

import socket

from django.core.management import get_commands, load_command_class
from django.core.servers.basehttp import WSGIRequestHandler

from chatops_site.ops.management.commands.runserver import Server


def test_the_runserver_make_run_starts_is_ours_and_still_serves_static_files():
    command = load_command_class(get_commands()["runserver"], "runserver")

    assert command.server_cls is Server
    assert "--nostatic" in command.create_parser("manage.py", "runserver").format_help()


def test_accepted_connections_send_at_once():
    server = Server(("127.0.0.1", 0), WSGIRequestHandler)
    try:
        client = socket.create_connection(server.server_address, timeout=5)
        connection, _ = server.get_request()
        try:
            assert connection.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            connection.close()
            client.close()
    finally:
        server.server_close()
