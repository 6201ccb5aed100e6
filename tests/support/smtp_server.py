"""A real SMTP server (aiosmtpd) on a free loopback port, for the e-mail channel.

with SmtpServer(refuse={"nobody@example.org"}) as smtp:
    ... smtp.port ... smtp.messages (email.message.Message, in order)
"""

import email
import email.policy

from aiosmtpd.controller import Controller

from tests.support.services import free_port


class _Handler:
    def __init__(self, server: "SmtpServer"):
        self.server = server

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.server.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.server.messages.append(message)
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self, refuse: set[str] | None = None):
        self.refuse = set(refuse or ())
        self.messages: list = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.port = free_port()
        self.controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> "SmtpServer":
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()
