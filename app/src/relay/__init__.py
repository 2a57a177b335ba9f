"""Relay: real-time team chat service."""
