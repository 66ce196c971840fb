"""tenbin's LLM layer: one interface (`LLM`) for every LLM call tenbin makes.

`tenbin.llm.scripted` is a scripted OpenAI-compatible server for tests and demos; the local model
is served by llama.cpp (`tenbin llm serve`).
"""

from tenbin.llm.client import LLM, ChatResult, PromptInfo, parse_json

__all__ = ["LLM", "ChatResult", "PromptInfo", "parse_json"]
