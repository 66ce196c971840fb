"""tenbin: traces, feedback, evals, prompt management and embedding analytics for LLM apps."""

__version__ = "0.1.0"
