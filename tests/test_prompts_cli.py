"""`tenbin prompts push/pull/label/diff/ls` against a real running server."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from tenbin.cli import app
from tenbin.loopback import free_port

runner = CliRunner()
FILE = """\
name: greeting
template: "Hello {{ name }}, welcome to {{ shop }}."
variables:
  - {name: name, type: string}
  - {name: shop, type: string, default: Kumo}
model: smollm2-135m-instruct
params: {temperature: 0.2}
examples:
  - {input: Hi, output: Hello!}
message: first greeting
"""


def _cli(server, *args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, ["prompts", *args, "-p", "shop", "--endpoint", server.url])


def test_push_pull_edit_push_label_diff_and_ls(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    source = tmp_path / "greeting.yaml"
    source.write_text(FILE)
    pushed = _cli(server, "push", str(source), "--label", "staging", "--author", "ana")
    assert pushed.exit_code == 0, pushed.output
    assert "pushed greeting version 1 (staging)" in _flat(pushed)
    pulled = tmp_path / "pulled.yaml"
    result = _cli(server, "pull", "greeting", "--label", "staging", "-o", str(pulled))
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(pulled.read_text())
    assert data["template"] == "Hello {{ name }}, welcome to {{ shop }}." and data["params"] == {"temperature": 0.2}
    assert data["variables"][1] == {"name": "shop", "type": "string", "default": "Kumo"}
    data["template"] = "Hi {{ name }}! Welcome to {{ shop }}."
    data["message"] = "friendlier"
    pulled.write_text(yaml.safe_dump(data))
    assert "version 2" in _cli(server, "push", str(pulled)).output
    moved = _cli(server, "label", "greeting", "production", "2", "--reason", "friendlier")
    assert moved.exit_code == 0 and "production moved from nothing to version 2" in _flat(moved)
    diff = _cli(server, "diff", "greeting", "1", "2")
    assert diff.exit_code == 0
    assert "-Hello {{ name }}, welcome to {{ shop }}." in diff.output and "+Hi {{ name }}! Welcome" in diff.output
    listing = _cli(server, "ls")
    assert "greeting" in listing.output and "production→v2" in listing.output and "staging→v1" in listing.output
    stdout = _cli(server, "pull", "greeting", "--version", "1")
    assert yaml.safe_load(stdout.output)["message"] == "first greeting"


def _flat(result) -> str:  # type: ignore[no-untyped-def]
    """The output with rich's line wrapping undone."""
    return " ".join(result.output.split())


def test_bad_files_and_unknown_names_fail_with_a_message(server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("name: [unclosed")
    result = _cli(server, "push", str(bad_yaml))
    assert result.exit_code == 1 and "not valid YAML" in _flat(result)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text")
    assert "must be a YAML mapping" in _flat(_cli(server, "push", str(scalar)))
    injection = tmp_path / "evil.yaml"
    injection.write_text("name: evil\ntemplate: \"{{ cycler.__init__.__globals__ }}\"\n")
    result = _cli(server, "push", str(injection))
    assert result.exit_code == 1 and "refused" in _flat(result)
    missing = _cli(server, "pull", "nope")
    assert missing.exit_code == 1 and "no prompt named 'nope'" in _flat(missing)


def test_unreachable_server_says_how_to_fix_it() -> None:
    result = runner.invoke(app, ["prompts", "ls", "--endpoint", f"http://127.0.0.1:{free_port()}"])
    assert result.exit_code == 1 and "cannot reach the tenbin server" in _flat(result)
