"""tenbin's LLM layer: one interface for tenbin's own LLM calls (judges, reports, agents).

For now it holds the scripted OpenAI-compatible server (`tenbin.llm.scripted`) that tests and
`make demo` talk to over real HTTP; the OpenAI-compatible client comes later.
"""
