"""`runserver` as Django's, except that answers leave at once on a reused connection, and that it does not
start with an unsafe secret key (see ops/production.py).

Django's development server writes the headers and the body of a response in separate small packets.
On a keep-alive connection (Slack, Discord and the benchmarks reuse theirs) the kernel holds the second
packet until the client acknowledges the first, and the client delays that acknowledgement by 40 ms:
every answer arrived 40 ms late. TCP_NODELAY sends each packet as soon as it is written.
"""

from __future__ import annotations

import socket

from django.contrib.staticfiles.management.commands import runserver
from django.core.servers.basehttp import WSGIServer

from chatops_site.ops.production import ProductionCommand


class Server(WSGIServer):
    def get_request(self):
        connection, address = super().get_request()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return connection, address


class Command(ProductionCommand, runserver.Command):
    server_cls = Server
