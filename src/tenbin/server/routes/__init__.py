"""REST resources under /api/v1, one module each."""

from fastapi import APIRouter

from tenbin.server.routes import datasets, evals, feedback, metrics, projects, prompt_experiments, prompts, traces
from tenbin.server.routes import embeddings
from tenbin.server.routes import playground
from tenbin.server.routes import online_evals
from tenbin.server.routes import monitors, reports
from tenbin.server.routes import prompt_generations
from tenbin.server.routes import analyses
from tenbin.server.routes import prices
from tenbin.server.routes import annotations

ROUTERS: list[APIRouter] = [projects.router, traces.router, metrics.router, feedback.router, evals.router, prompts.router,
                            datasets.router, prompt_experiments.router]
ROUTERS.append(embeddings.router)
ROUTERS.append(playground.router)
ROUTERS.append(online_evals.router)
ROUTERS += [monitors.router, reports.router]
ROUTERS.append(prompt_generations.router)
ROUTERS.append(analyses.router)
ROUTERS.append(annotations.router)
ROUTERS.append(prices.router)
