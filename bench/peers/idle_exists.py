#!/usr/bin/env python3
"""The raw IDLE client `mailroom-bench latency` measures Mailroom beside.

    idle_exists.py HOST PORT USER PASSWORD

Signs in over plain IMAP (a bare socket, no library between the server and the clock), selects INBOX and
waits in IDLE. For every untagged `* N EXISTS` it prints `N NANOSECONDS`, the moment the line was read on
CLOCK_MONOTONIC, the clock the bench reads before it sends its APPEND, so the two processes' times subtract
without a pipe's delay in between. Prints `ready` once the server has said `+ idling`. Runs until killed.
"""
import socket
import sys
import time


def main():
    host, port, user, password = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    sock = socket.create_connection((host, port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    lines = sock.makefile("rb", buffering=0)

    def command(tag, text):
        sock.sendall(("%s %s\r\n" % (tag, text)).encode())
        while True:
            line = lines.readline()
            if not line:
                raise SystemExit("server closed the connection during " + tag)
            if line.startswith(tag.encode() + b" "):
                if not line.split()[1] == b"OK":
                    raise SystemExit("%s failed: %r" % (tag, line))
                return

    lines.readline()  # greeting
    command("a1", 'LOGIN "%s" "%s"' % (user, password))
    command("a2", "SELECT INBOX")
    sock.sendall(b"a3 IDLE\r\n")
    while True:
        line = lines.readline()
        if not line:
            raise SystemExit("server closed the connection before IDLE")
        if line.startswith(b"+"):
            break
    print("ready", flush=True)
    while True:
        line = lines.readline()
        now = time.clock_gettime_ns(time.CLOCK_MONOTONIC)
        if not line:
            raise SystemExit("server closed the connection")
        words = line.split()
        if len(words) == 3 and words[0] == b"*" and words[2].upper() == b"EXISTS":
            print("%d %d" % (int(words[1]), now), flush=True)


if __name__ == "__main__":
    main()
