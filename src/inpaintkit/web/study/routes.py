"""The study's pages and API.

Pages: ``/study/{id}`` (the questions), ``/study/{id}/results`` (the table),
``/study/{id}/results.csv`` and ``/study/{id}/votes.csv``. API under ``/api/v1/studies/{id}``:
``POST participants`` (a new anonymous participant and their showings), ``POST votes``,
``GET results``, ``GET images/{token}.png``.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, PlainTextResponse
from pydantic import BaseModel, Field

from ...errors import InpaintkitError
from ..errors import WebError
from ..state import server
from .store import StudyStore

router = APIRouter(tags=["study"])
STATIC = Path(__file__).resolve().parents[1] / "static"


def load_studies(folders: tuple[Path, ...]) -> dict[str, StudyStore]:
    """The studies of ``folders`` by id (InpaintkitError for two with one id)."""
    studies: dict[str, StudyStore] = {}
    for folder in folders:
        store = StudyStore(folder)
        if store.id in studies:
            raise InpaintkitError(f"two studies have the id {store.id!r}: {folder}")
        studies[store.id] = store
    return studies


def _study(request: Request, study_id: str) -> StudyStore:
    study = server(request).studies.get(study_id)
    if study is None:
        raise WebError(404, f"no study {study_id!r}", field="study")
    return study


class VoteIn(BaseModel):
    """One answer: the participant, the showing's index, "left" or "right", and how long the
    participant looked (ms, optional)."""

    participant: str = Field(max_length=64)
    index: int
    choice: str = Field(max_length=8)
    response_ms: int | None = Field(default=None, ge=0)


@router.get("/study/{study_id}", include_in_schema=False)
def study_page(request: Request, study_id: str) -> FileResponse:
    _study(request, study_id)
    return FileResponse(STATIC / "study.html", media_type="text/html")


@router.get("/study/{study_id}/results", include_in_schema=False)
def results_page(request: Request, study_id: str) -> FileResponse:
    _study(request, study_id)
    return FileResponse(STATIC / "results.html", media_type="text/html")


@router.get("/study/{study_id}/results.csv")
def results_csv(request: Request, study_id: str) -> PlainTextResponse:
    """The preference table as CSV."""
    text = _study(request, study_id).results_csv()
    headers = {"Content-Disposition": f'attachment; filename="{study_id}-results.csv"'}
    return PlainTextResponse(text, media_type="text/csv", headers=headers)


@router.get("/study/{study_id}/votes.csv")
def votes_csv(request: Request, study_id: str) -> PlainTextResponse:
    """Every vote as CSV."""
    text = _study(request, study_id).votes_csv()
    headers = {"Content-Disposition": f'attachment; filename="{study_id}-votes.csv"'}
    return PlainTextResponse(text, media_type="text/csv", headers=headers)


@router.get("/api/v1/studies/{study_id}")
def study_info(request: Request, study_id: str) -> dict:
    """The study's question and size (not its methods: the fills are anonymous)."""
    study = _study(request, study_id)
    return {"id": study.id, "question": study.study["question"], "questions": len(study.questions)}


@router.post("/api/v1/studies/{study_id}/participants")
def new_participant(request: Request, study_id: str) -> dict:
    """A new anonymous participant and the showings to answer, each question twice."""
    study = _study(request, study_id)
    participant, showings = study.new_participant()
    return {
        "participant": participant,
        "question": study.study["question"],
        "showings": _with_urls(study_id, showings),
        "answered": [],
    }


def _with_urls(study_id: str, showings: list[dict]) -> list[dict]:
    base = f"/api/v1/studies/{study_id}/images"
    return [
        {**show, **{key: f"{base}/{show[key]}.png" for key in ("input", "left", "right")}}
        for show in showings
    ]


@router.get("/api/v1/studies/{study_id}/participants/{participant}")
def participant(request: Request, study_id: str, participant: str) -> dict:
    """A participant's showings and those answered already (a reload resumes)."""
    study = _study(request, study_id)
    showings = study.showings(study.schedule(participant))
    return {
        "participant": participant,
        "question": study.study["question"],
        "showings": _with_urls(study_id, showings),
        "answered": study.answered(participant),
    }


@router.post("/api/v1/studies/{study_id}/votes")
def vote(request: Request, study_id: str, body: VoteIn) -> dict:
    """Record one vote; returns how many of the participant's showings are answered."""
    study = _study(request, study_id)
    return study.vote(body.participant, body.index, body.choice, body.response_ms)


@router.get("/api/v1/studies/{study_id}/results")
def results(request: Request, study_id: str) -> dict:
    """Per pair of methods: votes, the share for the first and its 95% intervals."""
    return _study(request, study_id).results()


@router.get("/api/v1/studies/{study_id}/images/{name}")
def image(request: Request, study_id: str, name: str) -> FileResponse:
    """An image of the study by its token (``<16 hex digits>.png``)."""
    token = name.removesuffix(".png")
    return FileResponse(_study(request, study_id).image(token), media_type="image/png")
