"""Benchmarks of the library against the emulator: ``python -m bench [--smoke]``.

Each benchmark measures one thing a reader may doubt (does the pooled session pay off, what
does a resource cost in round trips, how long does the replication gate wait, could the
emulator itself be the bottleneck, what does a whole deployment cost against its floor and a
naive provider), prints a table and writes every number to a JSON file.
They report; they assert nothing about time. See bench/README.md.
"""
