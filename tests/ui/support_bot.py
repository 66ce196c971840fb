"""The UI tests' workload: a small traced support bot over the scripted LLM (fast, deterministic).

The agent retrieves passages, looks
up plans with read-only SQL for billing questions, and asks an LLM (the real `openai` client,
traced by the public OpenInference instrumentor) to answer from the passages. The scripted LLM
answers by quoting the passage that best matches the question, citing it as `[doc-id]`, or says it
does not know — so whether an answer cites a passage is a fact that feedback rules can check.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import Any

import tenbin

DOCS: dict[str, str] = {
    "billing-refunds": "Refunds are available within 30 days: open Billing, choose Refunds and pick the invoice.",
    "billing-invoices": "Invoices are emailed monthly; download past invoices from Billing, Invoices.",
    "billing-plans": "Acme Notes has three plans: Free, Team and Enterprise; compare plan prices on the Pricing page.",
    "billing-seats": "Add or remove seats in Billing, Seats; seat changes are prorated to the day.",
    "setup-install": "Install the desktop app from the Downloads page; it runs on Windows, macOS and Linux.",
    "setup-sso": "Enterprise workspaces can enable single sign-on with SAML in Settings, Security, SSO.",
    "setup-import": "Import notes from Markdown or Evernote files with Settings, Import.",
    "setup-invite": "Invite teammates from Settings, Members by entering their email address.",
    "api-keys": "Create an API key in Settings, API; keys are shown once and can be revoked at any time.",
    "api-rate-limits": "The API allows 600 requests per minute per key; a 429 response means wait and retry.",
    "api-webhooks": "Webhooks send a POST to your URL when a note is created, updated or deleted.",
    "api-pagination": "List endpoints of the API return a cursor; pass it back to fetch the next page.",
    "trouble-sync": "If notes do not sync, check the network, then sign out and sign in again to refresh sync.",
    "trouble-login": "Cannot log in? Reset the password with Forgot password on the sign-in page.",
    "trouble-slow": "If the app is slow, clear the local cache in Settings, Advanced, then restart the app.",
    "trouble-export": "Export fails for notes over 50 MB; split large notes before you export.",
    "ja-refunds": "返金 は 30 日 以内 に 請求 画面 の 返金 から 申請 できます。",
    "ja-sync": "同期 できない 場合 は ネットワーク を 確認 し 再度 サインイン して ください。",
}
PLANS = [("Free", 0, 3), ("Team", 8, 50), ("Enterprise", 20, 10000)]
PROMPT_NAME = "support-answer"
PROMPT_VERSION = "2"
PROMPT_TEMPLATE = "Answer the customer using only these passages, citing [doc-id].\n{passages}\n\nQuestion: {question}"
_WORD = re.compile(r"\w+")


def words(text: str) -> set[str]:
    return {w.lower() for w in _WORD.findall(text) if len(w) > 2 or not w.isascii()}


@tenbin.trace(kind="retriever", name="search_docs")
def search_docs(query: str, k: int = 3) -> list[dict[str, Any]]:
    """Rank passages by shared words with the query (BM25 comes with the real chatbot)."""
    q = words(query)
    scored = [(len(q & words(text)) / (1 + len(words(text))) ** 0.5, doc_id, text) for doc_id, text in DOCS.items()]
    ranked = sorted((s for s in scored if s[0] > 0), reverse=True)[:k]
    return [{"id": doc_id, "content": text, "score": round(score, 3)} for score, doc_id, text in ranked]


@tenbin.trace(kind="tool", name="sql_query")
def plan_prices(db: sqlite3.Connection, plan: str | None) -> list[tuple[Any, ...]]:
    if plan is None:
        return db.execute("SELECT name, price_per_seat, max_seats FROM plans").fetchall()
    rows = db.execute("SELECT name, price_per_seat, max_seats FROM plans WHERE lower(name) = ?", (plan,)).fetchall()
    if not rows:
        raise LookupError(f"no plan named {plan!r}")
    return rows


def scripted_answer(messages: list[dict[str, Any]]) -> str:
    """The scripted LLM: quote the best passage in the prompt, citing it, or admit not knowing."""
    prompt = str(messages[-1].get("content") or "")
    question = prompt.rsplit("Question:", 1)[-1]
    best, best_overlap = None, 1
    for doc_id, text in re.findall(r"\[([\w-]+)\] (.+)", prompt):
        overlap = len(words(question) & words(text))
        if overlap > best_overlap:
            best, best_overlap = (doc_id, text), overlap
    if best is None:
        return "I'm sorry, I could not find that in the Acme Notes documentation."
    return f"{best[1]} [{best[0]}]"


@dataclass
class SupportBot:
    llm: Any
    """An `openai.OpenAI` client (instrumented by OpenInference)."""
    model: str
    db: sqlite3.Connection

    @classmethod
    def create(cls, llm: Any, model: str) -> SupportBot:
        db = sqlite3.connect(":memory:", check_same_thread=False)
        db.execute("CREATE TABLE plans (name TEXT, price_per_seat INTEGER, max_seats INTEGER)")
        db.executemany("INSERT INTO plans VALUES (?, ?, ?)", PLANS)
        return cls(llm, model, db)

    @tenbin.trace(kind="agent", name="support_agent")
    def answer(self, question: str, task: str) -> str:
        passages = search_docs(question)
        if task == "billing":
            named = re.search(r"(\w+) plan", question)
            plan = named.group(1).lower() if named and named.group(1).lower() not in ("the", "my", "a") else None
            try:
                rows = plan_prices(self.db, plan)
                passages.append({"id": "db-plans", "content": "; ".join(f"{n}: {p} dollars per seat, up to {m} seats"
                                                                     for n, p, m in rows)})
            except LookupError:
                pass  # the TOOL span already recorded the error; answer from the docs alone
        return self.generate(question, passages)

    @tenbin.trace(kind="chain", name="generate_answer")
    def generate(self, question: str, passages: list[dict[str, Any]]) -> str:
        block = "\n".join(f"[{p['id']}] {p['content']}" for p in passages)
        variables = {"passages": block, "question": question}
        with tenbin.span("render_prompt", kind="chain", metadata={"prompt": PROMPT_NAME}):
            prompt = PROMPT_TEMPLATE.format(**variables)
        from openinference.instrumentation import using_prompt_template

        with using_prompt_template(template=PROMPT_TEMPLATE, variables=variables, version=PROMPT_VERSION):
            reply = self.llm.chat.completions.create(
                model=self.model,
                messages=[{"role": "system", "content": "You are the Acme Notes support assistant."},
                          {"role": "user", "content": prompt}],
            )
        return reply.choices[0].message.content or ""


def cites_passage(answer: str) -> bool:
    return re.search(r"\[[\w-]+\]\s*$", answer) is not None
