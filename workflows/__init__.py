"""Temporal workflows (deterministic code only) and the worker entry point."""
