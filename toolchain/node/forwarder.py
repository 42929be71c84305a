"""Loopback ports of the host that lead into the node's network namespace.

The node's network namespace has no link to the host: nothing in it is routed anywhere. The only way in
is this forwarder: it opens its listening sockets on the host's 127.0.0.1 first, then moves itself into the
node's namespace (``setns``), so every connection it makes from then on starts inside the node. A socket
keeps the namespace it was created in, so the listeners stay on the host's loopback.

    python -m toolchain.node.forwarder --netns /run/netns/NAME 127.0.0.1:6443=127.0.0.1:6443 ...

Each mapping is LISTEN=TARGET; LISTEN must be a loopback address. Runs until SIGTERM.
"""

from __future__ import annotations

import argparse
import ctypes
import ipaddress
import os
import selectors
import signal
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def setns(path: str) -> None:
    """Move the calling thread (here: the only thread) into the network namespace at ``path``."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open(path, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({path}): {os.strerror(err)}")
    finally:
        os.close(fd)


def parse_mapping(text: str) -> tuple[tuple[str, int], tuple[str, int]]:
    listen, sep, target = text.partition("=")
    if not sep:
        raise ValueError(f"{text!r}: expected LISTEN_HOST:PORT=TARGET_HOST:PORT")

    def addr(part: str) -> tuple[str, int]:
        host, _, port = part.rpartition(":")
        return host, int(port)

    lh, lp = addr(listen)
    if not ipaddress.ip_address(lh).is_loopback:
        raise ValueError(f"{text!r}: the forwarder listens on loopback addresses only")
    return (lh, lp), addr(target)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    """Copy both directions until either side closes; bounded by the peers' lifetimes."""
    sel = selectors.DefaultSelector()
    sel.register(a, selectors.EVENT_READ, b)
    sel.register(b, selectors.EVENT_READ, a)
    try:
        open_sides = 2
        while open_sides:
            for key, _ in sel.select():
                src: socket.socket = key.fileobj  # type: ignore[assignment]
                dst: socket.socket = key.data
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    sel.unregister(src)
                    open_sides -= 1
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    continue
                try:
                    dst.sendall(data)
                except OSError:
                    return
    finally:
        sel.close()
        a.close()
        b.close()


def _serve(listener: socket.socket, target: tuple[str, int]) -> None:
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(target, timeout=10)
            upstream.settimeout(None)
        except OSError:
            conn.close()
            continue
        threading.Thread(target=_pipe, args=(conn, upstream), daemon=True).start()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m toolchain.node.forwarder", description=__doc__.split("\n\n")[0])
    ap.add_argument("--netns", required=True, help="path of the network namespace (e.g. /run/netns/NAME)")
    ap.add_argument("mappings", nargs="+", help="LISTEN_HOST:PORT=TARGET_HOST:PORT")
    args = ap.parse_args(argv)
    pairs = [parse_mapping(m) for m in args.mappings]
    listeners = []
    for (lh, lp), _ in pairs:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((lh, lp))
        s.listen(128)
        listeners.append(s)
    # Listeners exist on the host's loopback; from here on, new sockets are made inside the node.
    setns(args.netns)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for s, (_, target) in zip(listeners, pairs, strict=True):
        threading.Thread(target=_serve, args=(s, target), daemon=True).start()
    print("forwarding " + " ".join(args.mappings), flush=True)
    stop.wait()
    for s in listeners:
        s.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
