"""What one app holds: its settings, job queue, results store, model pool and studies."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request

from .config import ServerConfig
from .jobs import JobQueue
from .models import ModelPool
from .results import ResultsStore


@dataclass
class ServerState:
    """The parts of a running server (``app.state.inpaintkit``)."""

    config: ServerConfig
    queue: JobQueue
    store: ResultsStore
    pool: ModelPool
    studies: dict = field(default_factory=dict)  # study id -> study.store.StudyStore


def server(request: Request) -> ServerState:
    """The state of the app serving ``request``."""
    return request.app.state.inpaintkit
