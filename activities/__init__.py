"""Temporal activities: every piece of I/O an investigation does."""
