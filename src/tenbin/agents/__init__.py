"""`tenbin.agents`: a small traced agent runtime — loop, tools, retrieval, read-only SQL.

    from tenbin.agents import Agent, BM25Retriever, ReadOnlyDatabase, search_docs_tool, sql_query_tool
    agent = Agent(LLM(), [search_docs_tool(BM25Retriever.from_markdown("docs")),
                          sql_query_tool(ReadOnlyDatabase("plans.db"))], pre_search="search_docs")
    agent.run("How much is the Business plan?").answer

The docs chatbot built on it lives in `tenbin.examples.docs_bot`.
"""

from tenbin.agents.citations import cited_passages
from tenbin.agents.loop import Agent, AgentResult
from tenbin.agents.parsing import FinalAnswer, MalformedReply, ToolCall, parse_action
from tenbin.agents.retriever import BM25Retriever, Passage, Retriever, chunk_markdown, tokenize, traced_search
from tenbin.agents.sql import QueryResult, ReadOnlyDatabase, SQLRefused, build_database
from tenbin.agents.tools import BadArguments, Tool, run_tool, search_docs_tool, sql_query_tool

__all__ = [
    "Agent", "AgentResult", "BM25Retriever", "BadArguments", "FinalAnswer", "MalformedReply", "Passage",
    "QueryResult", "ReadOnlyDatabase", "Retriever", "SQLRefused", "Tool", "ToolCall", "build_database",
    "chunk_markdown", "cited_passages", "parse_action", "run_tool", "search_docs_tool", "sql_query_tool",
    "tokenize", "traced_search",
]
