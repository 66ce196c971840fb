"""Embedding analytics over traces: embedders, the incremental embed job, and (next) clustering and drift."""
