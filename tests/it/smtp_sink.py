"""A real SMTP server for the mail tests (aiosmtpd): binds 127.0.0.1 on a port the system
chooses, prints that port on the first line of stdout, and writes every message it accepts
to DIR as 0000.eml, 0001.eml, ... (written whole, then renamed), each with a 0000.via beside
it saying how it came: the TLS version (`TLSv1.3`) or `clear`.

--fail N: the first N messages' DATA is answered 451 (a temporary failure) instead; each
refused message is kept as 0000.refused, 0001.refused, ... (so a test can compare it with the
one accepted later). --gate FILE: every recipient is answered 451 (the mail system is not
ready) until FILE exists: a server that is down for mail, yet keeps its port, so no other
process can take it meanwhile.

--starttls CERT KEY: offers STARTTLS with that certificate (PEM) and key, and requires it
before MAIL (530 otherwise). --tls CERT KEY: TLS from the first byte (SMTPS) instead.

--auth USER PASSWORD: requires SMTP authentication (PLAIN or LOGIN, over TLS) with these
credentials before MAIL; each accepted message's 0000.auth says who authenticated.

Usage: python3 smtp_sink.py DIR [--fail N] [--gate FILE] [--starttls CERT KEY | --tls CERT KEY]
       [--auth USER PASSWORD]
"""
import argparse
import asyncio
import logging
import os
import socket
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class OneLine(logging.Formatter):
    """A log record on one line, its exception's cause instead of a traceback (a refused TLS
    handshake is what some tests expect; the client's error is what they check)."""

    def format(self, record):
        text = "smtp_sink: " + record.getMessage()
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            text += ": %r" % (error.__cause__ or error)
        return text


def write(name, content):
    with open(name + ".tmp", "wb") as f:
        f.write(content)
    os.rename(name + ".tmp", name)


class Sink:
    def __init__(self, out, fail, gate):
        self.out = out
        self.fail = fail
        self.gate = gate
        self.count = 0
        self.refused = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.gate is not None and not os.path.exists(self.gate):
            return "451 4.3.2 not accepting mail yet"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8")
        if self.fail > 0:
            self.fail -= 1
            write(os.path.join(self.out, "%04d.refused" % self.refused), content)
            self.refused += 1
            return "451 4.3.0 try again later"
        name = os.path.join(self.out, "%04d" % self.count)
        self.count += 1
        tls = server.transport.get_extra_info("ssl_object")
        write(name + ".via", (tls.version() if tls is not None else "clear").encode())
        if session.auth_data is not None:
            write(name + ".auth", bytes(session.auth_data))
        write(name + ".eml", content)
        return "250 OK"


async def main():
    handler = logging.StreamHandler()
    handler.setFormatter(OneLine())
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--fail", type=int, default=0)
    parser.add_argument("--gate")
    parser.add_argument("--auth", nargs=2, metavar=("USER", "PASSWORD"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    mode.add_argument("--tls", nargs=2, metavar=("CERT", "KEY"))
    args = parser.parse_args()

    context = None
    pair = args.starttls or args.tls
    if pair:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(pair[0], pair[1])

    sink = Sink(args.out, args.fail, args.gate)
    auth = {}
    if args.auth:
        user, password = args.auth[0].encode(), args.auth[1].encode()

        def authenticator(server, session, envelope, mechanism, data):
            ok = (
                isinstance(data, LoginPassword)
                and data.login == user
                and data.password == password
            )
            # handled=False: aiosmtpd answers a failure 535 itself.
            return AuthResult(
                success=ok, handled=False, auth_data=data.login if ok else None
            )

        auth = dict(authenticator=authenticator, auth_required=True)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    loop = asyncio.get_running_loop()
    if args.starttls:
        factory = lambda: SMTP(
            sink,
            hostname="sink.test",
            decode_data=False,
            tls_context=context,
            require_starttls=True,
            **auth,
        )
        server = await loop.create_server(factory, sock=sock)
    else:
        factory = lambda: SMTP(
            sink,
            hostname="sink.test",
            decode_data=False,
            auth_require_tls=not args.tls,
            **auth,
        )
        server = await loop.create_server(
            factory, sock=sock, ssl=context if args.tls else None
        )
    print(sock.getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


asyncio.run(main())
