"""The demo's question bank, conversations built from it, and the feedback rule.

Each in-scope question names the page that answers it, so the bank doubles as a retrieval eval
(tests check BM25 finds that page). Follow-ups make multi-turn sessions. The feedback rule is
checkable, not random: thumbs-down when the answer cites no retrieved passage or the question is
out of scope (the docs cannot answer it, so the user leaves unhappy whatever the bot says).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Question:
    text: str
    page: str | None = None
    """The docs page (path under docs/) that answers it; None when the docs cannot."""
    follow_ups: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conversation:
    session_id: str
    user_id: str
    category: str
    turns: tuple[str, ...]


def _q(text: str, page: str | None = None, *follow_ups: str) -> Question:
    return Question(text, page, tuple(follow_ups))


BILLING = "billing/"
QUESTIONS: dict[str, list[Question]] = {
    "billing": [
        _q("How much does the Business plan cost per seat?", BILLING + "plans-and-pricing.md", "And if we pay annually?"),
        _q("How do I get a refund for my annual subscription?", BILLING + "refunds.md", "How long does the refund take?"),
        _q("Where can I download past invoices?", BILLING + "invoices.md", "Can I change the company name on them?"),
        _q("How do I add more seats to our workspace?", BILLING + "seats.md", "Is the price prorated?"),
        _q("Which credit cards do you accept?", BILLING + "payment-methods.md", "Can we pay by bank transfer?"),
        _q("What happens when a card payment fails?", BILLING + "payment-methods.md"),
        _q("Is annual billing cheaper than monthly billing?", BILLING + "annual-billing.md", "How do I switch?"),
        _q("Do your prices include VAT?", BILLING + "taxes.md", "Where do I enter our VAT number?"),
        _q("How do I cancel my subscription?", BILLING + "cancel-subscription.md", "Will my notes be deleted?"),
        _q("How long is the free trial?", BILLING + "free-trial.md", "What happens when the trial ends?"),
        _q("Do you offer a discount for nonprofits?", BILLING + "discounts.md", "How do I apply?"),
        _q("What is the minimum number of seats on Enterprise?", BILLING + "seats.md"),
        _q("How much does the AI Assist add-on cost?", BILLING + "add-ons.md", "Which plans can buy it?"),
        _q("How much storage does each plan include?", BILLING + "limits.md", "Can I buy extra storage?"),
        _q("Do removed seats get refunded?", BILLING + "refunds.md"),
        _q("Is there a student discount?", BILLING + "discounts.md"),
    ],
    "setup": [
        _q("How do I create a workspace?", "setup/getting-started.md", "Can I change the workspace URL later?"),
        _q("How do I invite members to my workspace?", "setup/invite-members.md", "Do guests use a seat?"),
        _q("How do I set up SAML single sign-on with Okta?", "setup/sso-saml.md", "How do I verify our domain?"),
        _q("Which operating systems does the desktop app support?", "setup/desktop-apps.md", "How do updates work?"),
        _q("Is there an Android app?", "setup/mobile-apps.md", "Can I use notes offline on my phone?"),
        _q("How do I import notes from Evernote?", "setup/import-notes.md", "Is there a limit on imports?"),
        _q("How do I turn on SCIM provisioning?", "setup/scim-provisioning.md", "What does SCIM sync?"),
        _q("How do I change the workspace logo?", "setup/workspace-settings.md"),
        _q("How do I connect Slack?", "integrations/slack.md", "Can I save Slack messages as notes?"),
        _q("Can I embed Google Docs in a note?", "integrations/google-drive.md"),
        _q("Does Kumo Notes work with Zapier?", "integrations/zapier.md", "Which triggers are available?"),
        _q("How do I link GitHub pull requests to notes?", "integrations/github.md", "Is Jira Server supported?"),
        _q("How do I turn on two-factor authentication?", "security/two-factor.md", "Can admins require it for everyone?"),
        _q("How do I export my whole workspace?", "security/data-export.md", "How long is the download link valid?"),
        _q("Can we store our data in the EU?", "security/data-residency.md", "Which plan do we need for Tokyo?"),
        _q("How long are deleted notes kept in the trash?", "security/data-retention.md"),
    ],
    "api": [
        _q("How do I authenticate API requests?", "api/api-overview.md", "What is the base URL?"),
        _q("How do I create an API key?", "api/api-keys.md", "How do I rotate it without downtime?"),
        _q("What is the API rate limit on the Plus plan?", "api/rate-limits.md", "What should I do when I get a 429?"),
        _q("What does the Retry-After header mean?", "api/rate-limits.md"),
        _q("How do I create a webhook?", "api/webhooks.md", "How do I verify the webhook signature?"),
        _q("Which events can webhooks send?", "api/webhooks.md", "How often are failed deliveries retried?"),
        _q("How does pagination work in the API?", "api/pagination-and-errors.md", "What does a 409 error mean?"),
        _q("Is there a Python SDK?", "api/sdks.md", "Does it retry on rate limit errors?"),
        _q("What does a 403 error from the API mean?", "api/pagination-and-errors.md"),
        _q("How many webhook endpoints can a Business workspace have?", "api/webhooks.md"),
        _q("Do personal access tokens expire?", "api/api-keys.md"),
        _q("Which API version should I use?", "api/api-overview.md"),
        _q("How many requests per minute does Enterprise allow?", "api/rate-limits.md", "Can we get a higher limit?"),
        _q("What scopes can an API key have?", "api/api-keys.md"),
        _q("What is the error format of the API?", "api/pagination-and-errors.md"),
        _q("Is there a TypeScript SDK?", "api/sdks.md"),
    ],
    "troubleshooting": [
        _q("My notes are not syncing between devices", "troubleshooting/sync-issues.md", "I tried that, it still fails"),
        _q("I forgot my password", "troubleshooting/login-problems.md", "The reset link expired"),
        _q("My account is locked after too many sign-in attempts", "troubleshooting/login-problems.md"),
        _q("The app is very slow", "troubleshooting/slow-performance.md", "Could a browser extension cause it?"),
        _q("My file upload fails", "troubleshooting/attachments.md", "What is the largest file on Plus?"),
        _q("Why is my workspace read-only?", "troubleshooting/error-messages.md", "How do I fix it?"),
        _q("The app says version too old", "troubleshooting/error-messages.md"),
        _q("My two-factor code is not accepted", "troubleshooting/login-problems.md", "I lost my phone"),
        _q("SSO sign-in fails with SAML response invalid", "troubleshooting/login-problems.md"),
        _q("Two people edited the same note offline, what happens?", "troubleshooting/sync-issues.md"),
        _q("I get error 500 Something went wrong", "troubleshooting/error-messages.md"),
        _q("Webhook deliveries keep failing", "api/webhooks.md", "Why was my endpoint disabled?"),
        _q("I keep getting 429 Too Many Requests", "api/rate-limits.md"),
        _q("The invitation email never arrived", "setup/invite-members.md"),
        _q("Storage is full and uploads fail", "troubleshooting/attachments.md", "How do I get more storage?"),
        _q("Large notebooks load slowly", "troubleshooting/slow-performance.md"),
    ],
    "japanese": [
        _q("返金はできますか？", "ja/billing-refunds.md", "月額契約の場合はどうなりますか？"),
        _q("返金の申請方法を教えてください", "ja/billing-refunds.md"),
        _q("請求書の宛名を変更したい", "ja/billing-refunds.md"),
        _q("日本円で支払えますか？", "ja/billing-refunds.md"),
        _q("ワークスペースの作成方法は？", "ja/getting-started.md", "メンバーを招待するには？"),
        _q("ゲストはシートを使用しますか？", "ja/getting-started.md"),
        _q("表示言語を日本語に変更できますか？", "ja/getting-started.md"),
        _q("招待の有効期限は？", "ja/getting-started.md"),
        _q("ノートが同期できません", "ja/sync-troubleshooting.md", "それでも同期できない場合は？"),
        _q("ローカルキャッシュをリセットする方法は？", "ja/sync-troubleshooting.md"),
        _q("古いバージョンのアプリでも同期できますか？", "ja/sync-troubleshooting.md"),
        _q("雲のアイコンが赤いのはなぜですか？", "ja/sync-troubleshooting.md"),
        _q("SSO を設定するには？", "ja/sso-security.md", "どの ID プロバイダーに対応していますか？"),
        _q("データを東京リージョンに保存できますか？", "ja/sso-security.md"),
        _q("データは暗号化されていますか？", "ja/sso-security.md"),
        _q("Okta でシングルサインオンを使えますか？", "ja/sso-security.md"),
    ],
    "out_of_scope": [
        _q("What is the weather in Tokyo tomorrow?"),
        _q("Can you write me a poem about cats?"),
        _q("Who won the football world cup in 2010?"),
        _q("How do I bake sourdough bread?"),
        _q("What is the capital of Australia?"),
        _q("Is Kumo Notes better than Notion?", None, "Why?"),
        _q("What is your CEO's phone number?"),
        _q("When will Kumo Notes go public on the stock market?"),
        _q("Can you translate this sentence into French: good morning?"),
        _q("What is the square root of 1764?"),
        _q("Recommend a good laptop for programming"),
        _q("What will the Business plan cost next year?", None, "Are prices going up?"),
        _q("How many employees does Kumo Notes have?"),
        _q("明日の東京の天気は？"),
        _q("Tell me a joke"),
        _q("How do I fix my car's engine?"),
    ],
}
CATEGORIES: tuple[str, ...] = tuple(QUESTIONS)


def thumbs_up(category: str, answer: Any) -> bool:
    """The demo's feedback rule: up only when the answer cites a retrieved passage and is in scope."""
    return bool(answer.cited) and category != "out_of_scope"


def conversations(count: int, *, seed: int = 7, follow_up_rate: float = 0.6) -> list[Conversation]:
    """`count` sessions cycling through the categories; many continue with the question's follow-ups.

    Deterministic for a given seed, so two demo runs ask the same questions in the same order.
    """
    rng = random.Random(seed)
    out: list[Conversation] = []
    for i in range(count):
        category = CATEGORIES[i % len(CATEGORIES)]
        question = rng.choice(QUESTIONS[category])
        turns = [question.text]
        if question.follow_ups and rng.random() < follow_up_rate:
            turns += question.follow_ups
        out.append(Conversation(f"session-{seed}-{i:04d}", f"user-{rng.randrange(40):02d}", category, tuple(turns)))
    return out
