"""Removal requests: ownership verification, the request state machine, owner pages."""
