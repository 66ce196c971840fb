"""`tenbin.Client`: the REST query API from Python, as dicts or pandas DataFrames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import httpx

from tenbin import config
from tenbin.errors import Forbidden, InvalidInput, NotFound, TenbinError, Unauthorized

_ERRORS: dict[int, type[TenbinError]] = {400: InvalidInput, 401: Unauthorized, 403: Forbidden, 404: NotFound}


class Client:
    """Reads projects, traces, spans, sessions and metrics; writes feedback; runs analyses and monitors;
    fills annotation queues and reviews their items.

    `endpoint` and `api_key` fall back to TENBIN_ENDPOINT and TENBIN_API_KEY.
    """

    def __init__(self, endpoint: str | None = None, api_key: str | None = None, timeout: float = 30.0) -> None:
        base = config.ENDPOINT.get(endpoint) or f"http://127.0.0.1:{config.PORT.get()}"
        key = config.API_KEY.get(api_key)
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self._http = httpx.Client(base_url=base.rstrip("/") + "/api/v1", headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._http.request(method, path, **kwargs)
        if response.status_code >= 400:
            try:
                detail = response.json().get("detail", response.text)
            except ValueError:
                detail = response.text
            raise _ERRORS.get(response.status_code, TenbinError)(str(detail))
        return response.json()

    def _pages(self, path: str, params: dict[str, Any], limit: int | None) -> Iterator[dict[str, Any]]:
        params = {k: v for k, v in params.items() if v not in (None, "")}
        seen = 0
        while True:
            page_size = min(500, limit - seen) if limit else 500
            page = self._request("GET", path, params={**params, "limit": page_size})
            for item in page["items"]:
                yield item
                seen += 1
            if not page["next_cursor"] or (limit and seen >= limit):
                return
            params["cursor"] = page["next_cursor"]

    def iter_spans(self, project: str = "default", filter: str = "") -> Iterator[dict[str, Any]]:
        """Every matching span, page by page, without holding them all."""
        return self._pages(f"/projects/{project}/spans", {"filter": filter}, None)

    def projects(self) -> list[dict[str, Any]]:
        return self._request("GET", "/projects")

    def spans(self, project: str = "default", filter: str = "", start: str | None = None, end: str | None = None,
              limit: int | None = 1000, dataframe: bool = False) -> Any:
        """Spans newest first (all pages up to `limit`; None = all)."""
        items = list(self._pages(f"/projects/{project}/spans",
                                 {"filter": filter, "start": start, "end": end}, limit))
        return _frame(items) if dataframe else items

    def traces(self, project: str = "default", filter: str = "", start: str | None = None, end: str | None = None,
               limit: int | None = 1000, dataframe: bool = False) -> Any:
        items = list(self._pages(f"/projects/{project}/traces",
                                 {"filter": filter, "start": start, "end": end}, limit))
        return _frame(items) if dataframe else items

    def trace(self, trace_id: str) -> dict[str, Any]:
        return self._request("GET", f"/traces/{trace_id}")

    def span(self, span_id: str) -> dict[str, Any]:
        return self._request("GET", f"/spans/{span_id}")

    def session(self, session_id: str, project: str = "default") -> dict[str, Any]:
        return self._request("GET", f"/projects/{project}/sessions/{session_id}")

    def metrics(self, project: str = "default", filter: str = "", bucket_seconds: int | None = None,
                group_by: str | None = None, start: str | None = None, end: str | None = None,
                dataframe: bool = False) -> Any:
        params = {"filter": filter, "bucket_seconds": bucket_seconds, "group_by": group_by, "start": start, "end": end}
        rows = self._request("GET", f"/projects/{project}/metrics",
                             params={k: v for k, v in params.items() if v not in (None, "")})
        return _frame(rows) if dataframe else rows

    def eval_metrics(self, project: str = "default", filter: str = "", bucket_seconds: int | None = None,
                     start: str | None = None, end: str | None = None) -> dict[str, Any]:
        """Per evaluator: results, label fractions, mean score, sources and, with `bucket_seconds`, a series."""
        params = {"filter": filter, "bucket_seconds": bucket_seconds, "start": start, "end": end}
        return self._request("GET", f"/projects/{project}/metrics/evals",
                             params={k: v for k, v in params.items() if v not in (None, "")})

    def costs(self, project: str = "default", filter: str = "", start: str | None = None, end: str | None = None,
              bucket_seconds: int | None = 86400) -> dict[str, Any]:
        """Total cost in USD (app-sent and computed from model prices), by model and per day and model."""
        params = {"filter": filter, "start": start, "end": end, "bucket_seconds": bucket_seconds}
        return self._request("GET", f"/projects/{project}/costs",
                             params={k: v for k, v in params.items() if v not in (None, "")})

    def model_prices(self, project: str = "default") -> list[dict[str, Any]]:
        """The prices the project sees, the winner of a tie first: its own, global, then built-in (`scope`)."""
        return self._request("GET", f"/projects/{project}/model-prices")

    def add_model_price(self, pattern: str, prompt_per_1m: float, completion_per_1m: float, project: str = "default",
                        valid_from: str | None = None, is_global: bool = False) -> dict[str, Any]:
        """E.g. `add_model_price("gpt-4o-mini*", 0.15, 0.60, "shop")`: USD per 1M tokens, for spans starting
        at or after `valid_from` (ISO-8601; default all); `is_global` for every project."""
        body = {"pattern": pattern, "prompt_per_1m": prompt_per_1m, "completion_per_1m": completion_per_1m,
                "valid_from": valid_from, "global": is_global}
        return self._request("POST", f"/projects/{project}/model-prices", json=body)

    def set_model_price(self, pattern: str, prompt_per_1m: float, completion_per_1m: float, project: str = "default",
                        valid_from: str | None = None, is_global: bool = False) -> dict[str, Any]:
        """Like `add_model_price`, but changes the entry with the same pattern and valid-from if there is one."""
        body = {"pattern": pattern, "prompt_per_1m": prompt_per_1m, "completion_per_1m": completion_per_1m,
                "valid_from": valid_from, "global": is_global}
        return self._request("PUT", f"/projects/{project}/model-prices", json=body)

    def update_model_price(self, price_id: int, project: str = "default", **changes: Any) -> dict[str, Any]:
        """Change `pattern`, `prompt_per_1m`, `completion_per_1m` or `valid_from` of a price."""
        return self._request("PATCH", f"/projects/{project}/model-prices/{price_id}", json=changes)

    def delete_model_price(self, price_id: int, project: str = "default") -> dict[str, Any]:
        return self._request("DELETE", f"/projects/{project}/model-prices/{price_id}")

    def recompute_costs(self, project: str = "default", start: str | None = None,
                        end: str | None = None) -> dict[str, Any]:
        """Price the spans in [start, end) again with today's prices (the app's own costs stay)."""
        return self._request("POST", f"/projects/{project}/model-prices/recompute", json={"start": start, "end": end})

    def feedback(self, span_id: str | None = None, trace_id: str | None = None, **body: Any) -> dict[str, Any]:
        """Post feedback: e.g. `feedback(span_id, kind="thumbs", value=0, comment="wrong plan")`."""
        if span_id:
            return self._request("POST", f"/spans/{span_id}/feedback", json=body)
        if trace_id:
            return self._request("POST", f"/traces/{trace_id}/feedback", json=body)
        raise InvalidInput("feedback needs a span_id or a trace_id")

    def prompts(self, project: str = "default") -> list[dict[str, Any]]:
        return self._request("GET", f"/projects/{project}/prompts")

    def prompt(self, name: str, project: str = "default", label: str | None = None,
               version: int | None = None) -> dict[str, Any]:
        """One prompt version, by label or number (the newest when neither)."""
        params = {k: v for k, v in {"label": label, "version": version}.items() if v is not None}
        return self._request("GET", f"/projects/{project}/prompts/{name}", params=params)

    def evaluators(self, project: str | None = None) -> list[dict[str, Any]]:
        """Every evaluator; with `project`, judges show the template that project uses (its registry)."""
        return self._request("GET", "/evals/evaluators", params={"project": project} if project else {})

    def push_prompt(self, version: dict[str, Any], project: str = "default") -> dict[str, Any]:
        """Store `version` (name, template or messages, variables, model, params, ...) as the next version."""
        return self._request("POST", f"/projects/{project}/prompts", json=version)

    def move_prompt_label(self, name: str, label: str, version: int, project: str = "default",
                          author: str | None = None, reason: str = "") -> dict[str, Any]:
        body = {"version": version, "author": author, "reason": reason}
        return self._request("PUT", f"/projects/{project}/prompts/{name}/labels/{label}", json=body)

    def prompt_diff(self, name: str, from_version: int, to_version: int, project: str = "default") -> dict[str, Any]:
        params = {"from_version": from_version, "to_version": to_version}
        return self._request("GET", f"/projects/{project}/prompts/{name}/diff", params=params)

    def prompt_audit(self, name: str, project: str = "default") -> list[dict[str, Any]]:
        return self._request("GET", f"/projects/{project}/prompts/{name}/audit")

    def assign_prompt(self, name: str, unit: str, project: str = "default") -> dict[str, Any]:
        """The version of `name` for `unit`: its sticky A/B arm while an experiment runs, else production."""
        return self._request("GET", f"/projects/{project}/prompts/{name}/assign", params={"unit": unit})

    def prompt_experiments(self, project: str = "default", prompt: str | None = None) -> list[dict[str, Any]]:
        return self._request("GET", f"/projects/{project}/prompt-experiments", params={"prompt": prompt} if prompt else {})

    def create_prompt_experiment(self, spec: dict[str, Any], project: str = "default") -> dict[str, Any]:
        """Start an A/B experiment: {"prompt", "arms": [{"version", "weight"}], "metric", "guardrails"}."""
        return self._request("POST", f"/projects/{project}/prompt-experiments", json=spec)

    def prompt_experiment(self, experiment_id: int, project: str = "default") -> dict[str, Any]:
        """Live results per arm: n, metric with 95% interval, P(best), sequential test, guardrails, SRM."""
        return self._request("GET", f"/projects/{project}/prompt-experiments/{experiment_id}")

    def stop_prompt_experiment(self, experiment_id: int, project: str = "default", promote: int | str | None = None,
                        force: bool = False, author: str | None = None) -> dict[str, Any]:
        body = {"promote": promote, "force": force, "author": author}
        return self._request("POST", f"/projects/{project}/prompt-experiments/{experiment_id}/stop", json=body)

    def prompt_performance(self, name: str, project: str = "default", bucket_seconds: int = 3600,
                           start: str | None = None, end: str | None = None) -> list[dict[str, Any]]:
        params = {k: v for k, v in {"bucket_seconds": bucket_seconds, "start": start, "end": end}.items() if v is not None}
        return self._request("GET", f"/projects/{project}/prompts/{name}/performance", params=params)

    def analyses(self, project: str = "default", limit: int = 50) -> list[dict[str, Any]]:
        """Embedding analysis runs, newest first (status, progress, drift)."""
        return self._request("GET", f"/projects/{project}/analyses", params={"limit": limit})["items"]

    def analysis(self, analysis_id: int) -> dict[str, Any]:
        """One run: status, parameters, global drift and the cluster table (worst problem first)."""
        return self._request("GET", f"/analyses/{analysis_id}")

    def analysis_points(self, analysis_id: int, cluster: int | None = None, dataframe: bool = False) -> Any:
        """A done run's points (all, or one `cluster`'s) in the column-wise format of GET
        /analyses/{id}/points (keys in `tenbin.analytics.point_columns`); `dataframe=True` decodes
        it into one row per point: span_id, side, cluster, x..z3, thumbs, prompt_version, metadata.<key>."""
        data = self._request("GET", f"/analyses/{analysis_id}/points",
                             params={"cluster": cluster} if cluster is not None else {})
        if not dataframe:
            return data
        from tenbin.analytics.point_columns import rows

        return _frame(rows(data))

    def start_analysis(self, project: str = "default", **params: Any) -> dict[str, Any]:
        """Start a run in the background, e.g. `start_analysis("shop", baseline="7d", window="24h")`;
        poll `analysis(id)` until its status is `done`."""
        return self._request("POST", f"/projects/{project}/analyses", json=params)

    def rerun_analysis(self, analysis_id: int) -> dict[str, Any]:
        """Start a new run with a finished, failed or interrupted run's stored parameters (the same
        resolved windows, model, settings and seed); poll `analysis(id)` of the run it returns."""
        return self._request("POST", f"/analyses/{analysis_id}/rerun")

    def monitors(self, project: str = "default") -> list[dict[str, Any]]:
        return self._request("GET", f"/projects/{project}/monitors")

    def create_monitor(self, project: str = "default", **spec: Any) -> dict[str, Any]:
        """E.g. `create_monitor("shop", name="slow tasks", kind="latency_p95", threshold=3000,
        group_by="metadata.task")`; the fields are those of POST /projects/{p}/monitors."""
        return self._request("POST", f"/projects/{project}/monitors", json=spec)

    def check_monitor(self, monitor_id: int) -> dict[str, Any]:
        """Check now: the stored evaluation, `alert_id` when it raised one, the webhook `delivery`."""
        return self._request("POST", f"/monitors/{monitor_id}/check")

    def alerts(self, project: str = "default", status: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Alerts newest first; `status` is `open` or `acknowledged`."""
        params = {"status": status, "limit": limit}
        return self._request("GET", f"/projects/{project}/alerts", params={k: v for k, v in params.items() if v})

    def online_rules(self, project: str = "default") -> list[dict[str, Any]]:
        """Online eval rules with their status (create and change them with `tenbin.evals`)."""
        return self._request("GET", f"/projects/{project}/online-evals")

    def score_configs(self, project: str = "default") -> list[dict[str, Any]]:
        return self._request("GET", f"/projects/{_seg(project)}/score-configs")

    def create_score_config(self, name: str, type: str, project: str = "default", *, labels: list[str] | None = None,
                            min_value: float | None = None, max_value: float | None = None,
                            description: str = "") -> dict[str, Any]:
        """An annotation dimension: `categorical` (labels), `numeric` (min_value, max_value) or `boolean`."""
        body = {"name": name, "type": type, "labels": labels, "min_value": min_value, "max_value": max_value,
                "description": description}
        return self._request("POST", f"/projects/{_seg(project)}/score-configs", json=body)

    def annotation_queues(self, project: str = "default") -> list[dict[str, Any]]:
        """Each queue with its score configs and progress (pending, done, skipped, total)."""
        return self._request("GET", f"/projects/{_seg(project)}/annotation-queues")

    def annotation_queue(self, name: str, project: str = "default") -> dict[str, Any]:
        return self._request("GET", _queue_path(project, name))

    def create_annotation_queue(self, name: str, score_configs: list[str], project: str = "default",
                                description: str = "") -> dict[str, Any]:
        body = {"name": name, "score_configs": score_configs, "description": description}
        return self._request("POST", f"/projects/{_seg(project)}/annotation-queues", json=body)

    def add_to_queue(self, name: str, project: str = "default", *, span_ids: list[str] | None = None,
                     trace_ids: list[str] | None = None, filter: str | None = None, limit: int = 100) -> dict[str, Any]:
        """Add spans by id, traces (their root spans) or the newest `limit` spans matching `filter`."""
        body = {"span_ids": span_ids or [], "trace_ids": trace_ids or [], "filter": filter, "limit": limit}
        return self._request("POST", _queue_path(project, name) + "/items", json=body)

    def queue_items(self, name: str, project: str = "default", status: str | None = None,
                    limit: int | None = 1000) -> list[dict[str, Any]]:
        """Items oldest first, optionally only `pending`, `done` or `skipped` ones."""
        return list(self._pages(_queue_path(project, name) + "/items", {"status": status}, limit))

    def next_queue_item(self, name: str, reviewer: str, project: str = "default") -> dict[str, Any]:
        """`{"item", "span"}`: the next item, leased to `reviewer` for a while; `item` is None when none is left."""
        return self._request("POST", _queue_path(project, name) + "/next", json={"reviewer": reviewer})

    def complete_queue_item(self, name: str, item_id: int, reviewer: str, scores: dict[str, Any],
                            project: str = "default", comment: str | None = None) -> dict[str, Any]:
        """Answers by config name, e.g. `{"quality": "correct", "helpful": True}`, stored as human feedback."""
        body = {"reviewer": reviewer, "scores": scores, "comment": comment}
        return self._request("POST", f"{_queue_path(project, name)}/items/{item_id}/complete", json=body)

    def skip_queue_item(self, name: str, item_id: int, reviewer: str, project: str = "default") -> dict[str, Any]:
        return self._request("POST", f"{_queue_path(project, name)}/items/{item_id}/skip", json={"reviewer": reviewer})


def _seg(value: str) -> str:
    return quote(value, safe="")


def _queue_path(project: str, name: str) -> str:
    return f"/projects/{_seg(project)}/annotation-queues/{_seg(name)}"


def _frame(rows: list[dict[str, Any]]) -> Any:
    import pandas as pd

    return pd.DataFrame(rows)
