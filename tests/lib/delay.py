#!/usr/bin/env python3
"""delay: a TCP relay on loopback that holds every byte a fixed time in each
direction, a round trip's latency without netem (which not every kernel
has); bench/relay-hops.sh reaches its hosts through it.

usage: delay.py TARGET_PORT SECONDS [ADDRESS [PORT]]   (until SIGTERM)

It listens on a free port of 127.0.0.1 (of ADDRESS, on PORT, where given)
and prints its number, one line, once it accepts connections.  Each
connection to it is joined to 127.0.0.1:TARGET_PORT (ADDRESS:TARGET_PORT);
what either side sends is written to the other SECONDS after it was read
(one way: a round trip takes twice that), in order, with no limit on the
bytes in flight, so only the latency is added, not a bandwidth limit.
Where DELAY_LOG names a file, a line is added to it for each connection
accepted, once it is joined.
"""
import asyncio
import os
import signal
import sys
import time


async def pump(reader, writer, seconds):
    """Copies reader to writer, each read held seconds after it arrived."""
    queue = asyncio.Queue()

    async def take():
        while True:
            data = await reader.read(65536)
            await queue.put((time.monotonic() + seconds, data))
            if not data:
                return

    async def give():
        while True:
            due, data = await queue.get()
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            if not data:
                if writer.can_write_eof():
                    writer.write_eof()
                return
            writer.write(data)
            await writer.drain()

    await asyncio.gather(take(), give())


async def serve(target, seconds, address, port):
    async def join(reader, writer):
        try:
            up_r, up_w = await asyncio.open_connection(address, target)
        except OSError:
            writer.close()
            return
        if os.environ.get("DELAY_LOG"):
            with open(os.environ["DELAY_LOG"], "a") as log:
                log.write("connection\n")
        await asyncio.gather(pump(reader, up_w, seconds),
                             pump(up_r, writer, seconds),
                             return_exceptions=True)
        writer.close()
        up_w.close()

    server = await asyncio.start_server(join, address, port)
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await server.serve_forever()


def main(argv):
    if len(argv) not in (3, 4, 5):
        sys.exit(__doc__)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(serve(int(argv[1]), float(argv[2]),
                      argv[3] if len(argv) > 3 else "127.0.0.1",
                      int(argv[4]) if len(argv) > 4 else 0))


if __name__ == "__main__":
    main(sys.argv)
