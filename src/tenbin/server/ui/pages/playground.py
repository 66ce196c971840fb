"""`/projects/{project}/playground`: edit a prompt (text or chat), fill its variables, render it in the
sandbox with a token count, run it on the configured LLM (traced into the project) and save it as a
new version. One CSRF-checked form whose buttons say what to do, so the page works without
JavaScript; it calls the same `tenbin.playground` functions as the REST API."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from tenbin import config, playground
from tenbin.errors import InvalidInput, LLMError, NotFound
from tenbin.prompts import registry
from tenbin.prompts.templates import ROLES, Template
from tenbin.server.auth import Access
from tenbin.server.routes.playground import run_traced
from tenbin.server.ui.render import render
from tenbin.server.ui.security import check_csrf, require_write, ui_access, ui_author

router = APIRouter()
BASE = "/projects/{project}/playground"
TEXT_TYPES = ("string", "any")
"""Variable types whose form value is taken as typed; the others are read as JSON (3, true, [1, 2])."""
_ROW = re.compile(r"content\.(\d+)\Z")


@dataclass
class State:
    """What the form holds: the version it started from, the draft, the values typed, the settings."""

    prompt: str = ""
    version: int | None = None
    mode: str = "text"
    text: str = ""
    messages: list[dict[str, str]] = field(default_factory=list)
    values: dict[str, str] = field(default_factory=dict)
    model: str = ""
    temperature: str = "0"
    max_tokens: str = ""
    save_name: str = ""
    save_message: str = ""
    save_label: str = ""

    @classmethod
    def from_version(cls, base: dict[str, Any] | None) -> State:
        if base is None:
            return cls(model=config.LLM_MODEL.get())
        params = base.get("params") or {}
        return cls(prompt=base["name"], version=base["version"], mode="chat" if base.get("messages") else "text",
                   text=base.get("template") or "", messages=[dict(m) for m in base.get("messages") or []],
                   model=base.get("model") or config.LLM_MODEL.get(), temperature=str(params.get("temperature", 0)),
                   max_tokens=str(params.get("max_tokens") or ""), save_name=base["name"])

    @classmethod
    def from_form(cls, form: dict[str, str]) -> State:
        rows = sorted(int(m.group(1)) for k in form if (m := _ROW.match(k)))
        messages = [{"role": form.get(f"role.{i}", "user"), "content": form[f"content.{i}"]} for i in rows
                    if form[f"content.{i}"].strip()]
        version = form.get("version", "").strip()
        return cls(prompt=form.get("prompt", "").strip(), version=int(version) if version.isdigit() else None,
                   mode="chat" if form.get("mode") == "chat" else "text", text=form.get("template", ""),
                   messages=messages, values={k[4:]: v for k, v in form.items() if k.startswith("var.")},
                   **{k: form.get(k, "").strip() for k in ("model", "temperature", "max_tokens", "save_name",
                                                              "save_message", "save_label")})

    def switched(self, mode: str) -> State:
        """The same draft as chat messages (the text becomes the user message) or as one text."""
        if mode == "chat" and self.mode == "text":
            return replace(self, mode="chat", messages=[{"role": "user", "content": self.text}] if self.text else [])
        if mode == "text" and self.mode == "chat":
            return replace(self, mode="text", text="\n\n".join(m["content"] for m in self.messages))
        return self


def _values(template: Template, typed: dict[str, str]) -> dict[str, Any]:
    """Form values → variables: an empty field is not given (its default applies, else it is missing);
    non-text types are JSON; a filled field the template does not use is passed on, to be refused."""
    kinds = {v.name: v.type for v in template.variables}
    out: dict[str, Any] = {}
    for name, raw in typed.items():
        if raw == "":
            continue
        if kinds.get(name, "string") in TEXT_TYPES:
            out[name] = raw
            continue
        try:
            out[name] = json.loads(raw)
        except ValueError:
            raise InvalidInput(f"variable {name!r} is of type {kinds[name]}: write it as JSON, e.g. 3, true or "
                               f'["a", "b"]; got {raw!r}') from None
    return out


def _numbers(state: State) -> dict[str, Any]:
    try:
        temperature = float(state.temperature or 0)
    except ValueError:
        raise InvalidInput(f"temperature must be a number from 0 to 2; got {state.temperature!r}") from None
    if state.max_tokens and not state.max_tokens.isdigit():
        raise InvalidInput(f"max tokens must be a whole number (empty: no limit); got {state.max_tokens!r}")
    return {"temperature": temperature, "max_tokens": int(state.max_tokens or 0)}


def _template(state: State, base: dict[str, Any] | None) -> Template:
    if state.mode == "chat":
        return playground.build_template(base, messages=state.messages)
    return playground.build_template(base, state.text)


def _fields(template: Template | None, state: State) -> list[dict[str, Any]]:
    """One form field per variable of the template (or, when it does not parse, per value typed)."""
    if template is None:
        return [{"name": n, "type": "", "value": v, "placeholder": ""} for n, v in state.values.items()]
    return [{"name": v.name, "type": v.type, "value": state.values.get(v.name, ""),
             "placeholder": "" if v.required else f"default: {json.dumps(v.default, ensure_ascii=False)}"}
            for v in template.variables]


def page_context(request: Request, access: Access, project: str, state: State, *, template: Template | None = None,
                 draft: playground.Draft | None = None, result: dict[str, Any] | None = None,
                 error: str | None = None) -> dict[str, Any]:
    engine = request.app.state.engine
    rows = state.messages + [{"role": "user", "content": ""}] if state.mode == "chat" else []
    return {"project": project, "nav": "playground", "access": access, "state": state, "rows": rows, "roles": ROLES,
            "fields": _fields(template, state), "draft": draft, "result": result, "error": error,
            "prompts": [p["name"] for p in registry.list_prompts(engine, project)],
            "llm_url": config.LLM_BASE_URL.get(), "can_write": "write" in access.scopes}


@router.get(BASE, response_class=HTMLResponse)
def playground_page(request: Request, project: str, prompt: str = "", version: int | None = None,
                    access: Access = Depends(ui_access)) -> HTMLResponse:
    access.check_project(project)
    base = playground.load_base(request.app.state.engine, project, prompt or None, version)
    template = playground.build_template(base) if base else None
    return render(request, "playground.html",
                  **page_context(request, access, project, State.from_version(base), template=template))


def _lenient(state: State) -> Template | None:
    """The draft's template for showing its variable fields, or None while it does not parse."""
    try:
        return _template(state, None)
    except InvalidInput:
        return None


def _save(request: Request, project: str, state: State, draft: playground.Draft) -> None:
    if not state.save_name:
        raise InvalidInput("name the prompt to save this version to (a new name starts a new prompt)")
    params = playground.sampling(draft, **_numbers(state))
    playground.save(request.app.state.engine, project, registry.check_name(state.save_name), draft,
                    message=state.save_message, label=state.save_label or None, author=ui_author(request),
                    params=params)


@router.post(BASE)
async def playground_action(request: Request, project: str, access: Access = Depends(ui_access)) -> Response:
    """Buttons: render, run, save (then to the prompt page), or switch between text and chat."""
    form = await check_csrf(request)
    access.check_project(project)
    action, state = form.get("action", "render"), State.from_form(form)
    if action in ("run", "save"):
        require_write(access, project, f"{action} prompts")
    if action in ("chat", "text"):
        state = state.switched(action)
        context = await run_in_threadpool(page_context, request, access, project, state, template=_lenient(state))
        return render(request, "playground.html", **context)
    engine, template, draft, result = request.app.state.engine, None, None, None
    try:
        base = await run_in_threadpool(playground.load_base, engine, project, state.prompt or None, state.version)
        template = _template(state, base)
        draft = await run_in_threadpool(playground.draft, base, template, _values(template, state.values),
                                        model=state.model or None)
        if action == "run":
            result = await run_in_threadpool(run_traced, request.app, project, draft, **_numbers(state))
        elif action == "save":
            await run_in_threadpool(_save, request, project, state, draft)
            return RedirectResponse(f"/projects/{quote(project, safe='')}/prompts/{quote(state.save_name, safe='')}",
                                    status_code=303)
    except (InvalidInput, NotFound, LLMError) as exc:
        context = await run_in_threadpool(page_context, request, access, project, state,
                                          template=template or _lenient(state), draft=draft, error=str(exc))
        return render(request, "playground.html", status_code=exc.status_code, **context)
    context = await run_in_threadpool(page_context, request, access, project, state, template=template, draft=draft,
                                      result=result)
    return render(request, "playground.html", **context)
