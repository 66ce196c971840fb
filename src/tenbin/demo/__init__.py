"""`make demo`: the Kumo Notes docs chatbot on the local model, traced into tenbin, with a live
prompt A/B experiment and an eval experiment over a dataset built from its own traffic.

Steps, each a module: `servers` (tenbin serve + llama.cpp), `ab` (two prompt versions and the
experiment), `online` (an online eval rule over live answers), `traffic` (the conversations with
rule-based feedback), `evals` (dataset + experiment), `analysis` (embeddings, clusters, an LLM
cluster report, a monitor).
"""

from rich.console import Console

PROJECT = "kumo-docs-bot"
console = Console()
