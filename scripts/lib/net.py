#!/usr/bin/env python3
"""Loopback networking shared by the scripts: a free port for a private server or sink.

Python scripts put scripts/lib on sys.path and `from net import free_port`; the shell scripts
(through scripts/lib/server.sh) run this file, which prints one free port.
"""
import socket


def free_port():
    """A loopback port nothing listens on now (wrk and the sink need a known port, not :0)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


if __name__ == "__main__":
    print(free_port())
