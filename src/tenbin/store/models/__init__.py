"""The tables, as SQLAlchemy 2 models, one module per concept. The migrations in
`migrations/versions` create exactly these; importing this package registers every table on
`Base.metadata`, so add a new module's import here.

Times are integer microseconds since the Unix epoch (`*_us`): the one representation that buckets
(`start_us / width`), sorts and paginates the same way on SQLite and PostgreSQL. Hot filter fields
of a span are real, indexed columns; everything else an app sends stays in `attributes` (JSON).
"""

from tenbin.store.models.analyses import Analysis, AnalysisCluster, AnalysisPoint
from tenbin.store.models.annotations import AnnotationItem, AnnotationQueue, AnnotationQueueConfig, ScoreConfig
from tenbin.store.models.base import Base, Json, utcnow
from tenbin.store.models.calibrations import JudgeCalibration
from tenbin.store.models.core import SPAN_COLUMNS, ApiKey, Feedback, Project, Span, Trace
from tenbin.store.models.datasets import Dataset, DatasetExample, DatasetVersion, DatasetVersionExample, Experiment, ExperimentResult
from tenbin.store.models.jobs import Job, SpanEmbedding
from tenbin.store.models.monitors import Alert, AlertSettings, Monitor, MonitorEvaluation
from tenbin.store.models.online_evals import OnlineEvalRule, OnlineEvalSpan
from tenbin.store.models.prices import ModelPrice
from tenbin.store.models.prompt_experiments import PromptExperiment, PromptExposure
from tenbin.store.models.prompt_generation import PromptCandidate, PromptCandidateResult, PromptGeneration
from tenbin.store.models.prompts import Prompt, PromptLabel, PromptLabelMove, PromptVersion

__all__ = [
    "SPAN_COLUMNS", "Alert", "AlertSettings", "Analysis", "AnalysisCluster", "AnalysisPoint", "AnnotationItem",
    "AnnotationQueue", "AnnotationQueueConfig", "ApiKey", "Base", "Dataset", "DatasetExample", "DatasetVersion", "DatasetVersionExample", "Experiment",
    "ExperimentResult", "Feedback", "Job", "Json", "JudgeCalibration", "ModelPrice", "Monitor", "MonitorEvaluation", "OnlineEvalRule", "OnlineEvalSpan", "Project", "Prompt", "PromptCandidate", "PromptCandidateResult", "PromptExperiment", "PromptExposure", "PromptGeneration",
    "PromptLabel", "PromptLabelMove", "PromptVersion", "ScoreConfig", "Span", "SpanEmbedding", "Trace", "utcnow",
]
