"""Every setting is documented in the README and resolves argument → environment → default."""

from __future__ import annotations

from pathlib import Path

from tenbin import config

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_documented_in_the_readme() -> None:
    text = README.read_text()
    missing = [s.env for s in config.SETTINGS if f"`{s.env}`" not in text]
    assert missing == []


def test_precedence_is_argument_then_environment_then_default(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TENBIN_PORT", raising=False)
    assert config.PORT.get() == "6206"
    monkeypatch.setenv("TENBIN_PORT", "7000")
    assert config.PORT.get_int() == 7000
    assert config.PORT.get_int(8000) == 8000


def test_default_database_is_sqlite_in_home(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.delenv("TENBIN_DATABASE_URL", raising=False)
    assert config.database_url().endswith(".tenbin/tenbin.db") and config.database_url().startswith("sqlite:///")
    assert config.database_url("postgresql://x/y") == "postgresql://x/y"
