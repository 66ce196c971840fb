"""`python -m tenbin` runs the CLI."""

from tenbin.cli import app

app()
