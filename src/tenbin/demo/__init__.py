"""The `make demo` workload: a traced support bot over a scripted LLM."""
