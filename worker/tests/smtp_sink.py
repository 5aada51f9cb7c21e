"""An SMTP server for apex-worker's mail tests (tests/mail.rs), on aiosmtpd.

    python3 smtp_sink.py HOST PORT OUT_DIR [REFUSED_RECIPIENT ...]

Every message it accepts becomes OUT_DIR/N.json (written under a temporary name, then
renamed, so a reader never sees half a file) with the envelope, the headers the tests check
and the decoded text body. RCPT TO one of REFUSED_RECIPIENT is answered
`550 5.1.1 no such user`, a permanent rejection.
"""

import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, out, refused):
        self.out = out
        self.refused = refused
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = msg.get_body(preferencelist=("plain",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["From"]),
            "to": str(msg["To"]),
            "subject": str(msg["Subject"]),
            "date": msg["Date"] and str(msg["Date"]),
            "message_id": msg["Message-ID"] and str(msg["Message-ID"]),
            "content_type": msg.get_content_type(),
            "charset": msg.get_content_charset(),
            "body": body.get_content() if body is not None else None,
        }
        self.count += 1
        tmp = os.path.join(self.out, f".{self.count}.json.tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.out, f"{self.count}.json"))
        return "250 Message accepted for delivery"


def main():
    host, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    handler = Sink(out, set(sys.argv[4:]))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    # A fixed hostname: the default asks DNS for this machine's name, which can be slow.
    server = loop.run_until_complete(
        loop.create_server(lambda: SMTP(handler, hostname="apex-test-smtp"), host, port)
    )
    print("listening", flush=True)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
