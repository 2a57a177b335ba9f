"""Relay's operations automation: the commands the runbooks in this directory tell on-call to type.

One entry point, `python -m runbooks <command>`; one module per task, each with `main(argv) -> int`.
Anything that changes state plans first and only acts with `--apply`.
"""
