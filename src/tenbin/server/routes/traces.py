"""Traces, spans and sessions: lists with filters and cursors, one trace as a tree."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request

from tenbin.server.auth import Access, reader
from tenbin.server.routes.common import ListParams, list_params
from tenbin.store import queries

router = APIRouter(tags=["traces"])


@router.get("/projects/{project}/traces")
def list_traces(request: Request, project: str, params: ListParams = Depends(list_params),
                auth: Access = Depends(reader)) -> dict[str, Any]:
    """Traces newest first; a filter keeps traces with at least one matching span."""
    auth.check_project(project)
    page = queries.list_traces(request.app.state.engine, params.query, params.limit, params.cursor,
                               params.sort, params.descending)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/projects/{project}/spans")
def list_spans(request: Request, project: str, params: ListParams = Depends(list_params),
               auth: Access = Depends(reader)) -> dict[str, Any]:
    auth.check_project(project)
    page = queries.list_spans(request.app.state.engine, params.query, params.limit, params.cursor,
                              params.sort, params.descending)
    return {"items": page.items, "next_cursor": page.next_cursor}


@router.get("/traces/{trace_id}")
def get_trace(request: Request, trace_id: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    """The trace as a tree of spans (`roots`, each with `children`), with feedback per span."""
    return queries.get_trace(request.app.state.engine, trace_id, auth.project)


@router.get("/spans/{span_id}")
def get_span(request: Request, span_id: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    return queries.get_span(request.app.state.engine, span_id, auth.project)


@router.get("/projects/{project}/sessions/{session_id}")
def get_session(request: Request, project: str, session_id: str, auth: Access = Depends(reader)) -> dict[str, Any]:
    """A conversation's turns in order, with step numbers, latency and feedback."""
    auth.check_project(project)
    return queries.get_session(request.app.state.engine, project, session_id)
