"""Carelog: evidence for community care schemes."""
