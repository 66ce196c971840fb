"""Runnable examples shipped with tenbin (their data is package data, so they work from a wheel)."""
