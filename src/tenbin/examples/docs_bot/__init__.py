"""The Kumo Notes docs chatbot: a traced RAG agent over 40+ markdown pages and a plans database.

    from tenbin.llm import LLM
    from tenbin.examples.docs_bot import DocsBot
    with DocsBot(LLM()) as bot:
        print(bot.ask("How do I get a refund?").text)
"""

from tenbin.examples.docs_bot.bot import DOCS_DIR, PLANS_SQL, PROMPT_NAME, PROMPT_VERSION, Answer, DocsBot
from tenbin.examples.docs_bot.questions import CATEGORIES, Conversation, Question, conversations, thumbs_up

__all__ = ["Answer", "CATEGORIES", "Conversation", "DOCS_DIR", "DocsBot", "PLANS_SQL", "PROMPT_NAME",
           "PROMPT_VERSION", "Question", "conversations", "thumbs_up"]
