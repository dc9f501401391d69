#!/usr/bin/env python3
"""sftpswap.py: an SFTP server that moves a symbolic link at a chosen
moment, for tests of what a client reads across a change on the server.

Usage (as sshd's ForceCommand): sftpswap.py LINK TARGET SUFFIX

Runs OpenSSH's sftp-server and passes the client's packets to it as they
are; just before it passes the first request to open a path that ends
in SUFFIX, it points LINK at TARGET (a new link renamed over it, as a
planning run switches MASTER_DIR/current).
"""
import os
import struct
import subprocess
import sys
import threading

LINK, TARGET, SUFFIX = sys.argv[1], sys.argv[2], sys.argv[3].encode()
SSH_FXP_OPEN = 3


def read_exactly(f, n):
    data = b""
    while len(data) < n:
        chunk = f.read(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def swap():
    tmp = LINK + ".swap"
    if os.path.lexists(tmp):
        os.unlink(tmp)
    os.symlink(TARGET, tmp)
    os.rename(tmp, LINK)


def to_client(server_out):
    out = sys.stdout.buffer
    while True:
        chunk = server_out.read1(65536)
        if not chunk:
            break
        out.write(chunk)
        out.flush()


def main():
    server = subprocess.Popen(["/usr/lib/openssh/sftp-server"],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    back = threading.Thread(target=to_client, args=(server.stdout,))
    back.start()
    swapped = False
    inp = sys.stdin.buffer
    while True:
        head = read_exactly(inp, 4)
        if head is None:
            break
        body = read_exactly(inp, struct.unpack(">I", head)[0])
        if body is None:
            break
        if not swapped and body[0] == SSH_FXP_OPEN and len(body) >= 9:
            n = struct.unpack(">I", body[5:9])[0]
            if body[9:9 + n].endswith(SUFFIX):
                swap()
                swapped = True
        server.stdin.write(head + body)
        server.stdin.flush()
    server.stdin.close()
    server.wait()
    back.join()


main()
