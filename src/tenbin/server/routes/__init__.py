"""REST resources under /api/v1, one module each."""

from fastapi import APIRouter

ROUTERS: list[APIRouter] = []
