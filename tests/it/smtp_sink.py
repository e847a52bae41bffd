"""A real SMTP server for the mail tests (aiosmtpd): binds 127.0.0.1 on a port the system
chooses, prints that port on the first line of stdout, and writes every message it accepts
to DIR as 0000.eml, 0001.eml, ... (written whole, then renamed). With FAIL > 0 it answers the
first FAIL messages' DATA with 451 (a temporary failure) instead. With GATE, every
recipient is answered 451 (the mail system is not ready) until the file GATE exists: a
server that is down for mail, yet keeps its port, so no other process can take it meanwhile.

Usage: python3 smtp_sink.py DIR [FAIL [GATE]]
"""
import asyncio
import os
import socket
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out, fail, gate):
        self.out = out
        self.fail = fail
        self.gate = gate
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.gate is not None and not os.path.exists(self.gate):
            return "451 4.3.2 not accepting mail yet"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.fail > 0:
            self.fail -= 1
            return "451 4.3.0 try again later"
        name = os.path.join(self.out, "%04d.eml" % self.count)
        self.count += 1
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        with open(name + ".tmp", "wb") as f:
            f.write(content)
        os.rename(name + ".tmp", name)
        return "250 OK"


async def main():
    out = sys.argv[1]
    fail = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    gate = sys.argv[3] if len(sys.argv) > 3 else None
    sink = Sink(out, fail, gate)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test", decode_data=False), sock=sock
    )
    print(sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
