"""Reproducible measurements of surveil's streaming path; `make bench` prints a table.

Every server under test runs as its own child process on 127.0.0.1, and every SSE
viewer runs in a separate client process, so the client's CPU never counts against
the server's (this matters on a 2-core machine).
"""
