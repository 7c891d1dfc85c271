"""An SMTP server for the mail tests: aiosmtpd on 127.0.0.1, writing each message it accepts to a
file of its own in a directory, then printing `ready <port>` once it listens.

    python smtp_sink.py <directory> [port]      # port 0 (default): any free port

Each message is `<n>.eml` (RFC 5322, as received), written to `<n>.eml.tmp` and renamed, so a
reader never sees half a message. Runs until killed.
"""

import asyncio
import os
import socket
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        self.count += 1
        path = os.path.join(self.directory, f"{self.count:05d}.eml")
        with open(path + ".tmp", "wb") as f:
            f.write(envelope.original_content or envelope.content)
        os.replace(path + ".tmp", path)
        return "250 Message accepted for delivery"


async def main():
    directory = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    if port == 0:
        # The controller checks its server by connecting to the port, so it needs a real one.
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
    os.makedirs(directory, exist_ok=True)
    controller = Controller(Sink(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print(f"ready {port}", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        controller.stop()


if __name__ == "__main__":
    asyncio.run(main())
