"""A study folder and its votes in SQLite: one row per vote, with the order shown, the time and
an anonymous participant id.

Protocol (RePaint section 5.2): a participant gets every question twice. The first round asks
them in a random order with a random side for each method; the second round asks them again in
another random order with the sides swapped, so that answering the same both times means
choosing the same image, not the same side (a participant who always clicks left agrees with
themselves 0% of the time). Orders and sides are drawn from the participant's random id and
kept in the database, so the server knows what each showing was.
"""

from __future__ import annotations

import csv
import io
import json
import random
import re
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ...errors import InpaintkitError
from ..errors import WebError
from .stats import CONSISTENCY, consistency, counts, preference_table, without_nan

FORMAT = "inpaintkit-study-1"
QUESTION = "Which image looks more realistic?"
DB_FILE = "votes.sqlite"
TOKEN_RE = re.compile(r"[0-9a-f]{16}")
PARTICIPANT_RE = re.compile(r"[0-9a-f]{32}")
VOTE_COLUMNS = (
    "id",
    "participant",
    "showing",
    "question",
    "repeat",
    "item",
    "left_method",
    "right_method",
    "chosen",
    "chosen_side",
    "voted_at",
    "response_ms",
)
_SCHEMA = """
CREATE TABLE IF NOT EXISTS participants (
    id TEXT PRIMARY KEY, created TEXT NOT NULL, schedule TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS votes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    participant TEXT NOT NULL REFERENCES participants(id),
    showing INTEGER NOT NULL, question INTEGER NOT NULL, repeat INTEGER NOT NULL,
    item TEXT NOT NULL, left_method TEXT NOT NULL, right_method TEXT NOT NULL,
    chosen TEXT NOT NULL, chosen_side TEXT NOT NULL, voted_at TEXT NOT NULL,
    response_ms INTEGER, UNIQUE (participant, showing));
"""


def make_schedule(questions: int, rng: random.Random) -> list[dict]:
    """Two rounds over ``questions`` question ids, each in its own random order (a question is
    never asked twice in a row); in round 1 method a is on a random side, in round 2 on the
    other. Each showing: {"question", "repeat" (0 or 1), "a_left" (bool)}."""
    first = list(range(questions))
    rng.shuffle(first)
    second = list(range(questions))
    rng.shuffle(second)
    if questions > 1 and second[0] == first[-1]:
        second[0], second[1] = second[1], second[0]
    sides = {q: rng.random() < 0.5 for q in first}
    return [{"question": q, "repeat": 0, "a_left": sides[q]} for q in first] + [
        {"question": q, "repeat": 1, "a_left": not sides[q]} for q in second
    ]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


class StudyStore:
    """The study in ``folder`` (study.json, images/, votes.sqlite)."""

    def __init__(self, folder: str | Path, threshold: float = CONSISTENCY) -> None:
        self.folder = Path(folder).resolve()
        path = self.folder / "study.json"
        if not path.is_file():
            raise InpaintkitError(f"{folder} is not a study folder (no study.json)")
        self.study = json.loads(path.read_text())
        if self.study.get("format") != FORMAT:
            raise InpaintkitError(f"{path}: unknown format {self.study.get('format')!r}")
        self.id: str = self.study["id"]
        self.questions: list[dict] = self.study["questions"]
        self.methods: list[str] = self.study["methods"]
        self.threshold = threshold
        self.tokens = {q[k] for q in self.questions for k in ("input", "fill_a", "fill_b")}
        self._lock = threading.Lock()
        with self._connect() as db:
            db.executescript(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        """A connection that commits when the block ends without error, and is then closed."""
        db = sqlite3.connect(self.folder / DB_FILE, timeout=30)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    # -- participants and votes ------------------------------------------------------------------

    def new_participant(self) -> tuple[str, list[dict]]:
        """A fresh anonymous participant id and their showings (see :meth:`showings`)."""
        participant = uuid.uuid4().hex
        schedule = make_schedule(len(self.questions), random.Random(participant))
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT INTO participants VALUES (?, ?, ?)",
                (participant, _now(), json.dumps(schedule)),
            )
        return participant, self.showings(schedule)

    def schedule(self, participant: str) -> list[dict]:
        """The showings drawn for ``participant`` (WebError 404 for an unknown id)."""
        if not PARTICIPANT_RE.fullmatch(participant or ""):
            raise WebError(404, f"no participant {participant!r}", field="participant")
        with self._connect() as db:
            row = db.execute(
                "SELECT schedule FROM participants WHERE id = ?", (participant,)
            ).fetchone()
        if row is None:
            raise WebError(404, f"no participant {participant!r}", field="participant")
        return json.loads(row["schedule"])

    def showings(self, schedule: list[dict]) -> list[dict]:
        """What the page shows, per showing: the masked input and the left and right fills as
        image tokens (no method names)."""
        out = []
        for index, show in enumerate(schedule):
            q = self.questions[show["question"]]
            left, right = (q["fill_a"], q["fill_b"])
            if not show["a_left"]:
                left, right = right, left
            out.append({"index": index, "input": q["input"], "left": left, "right": right})
        return out

    def answered(self, participant: str) -> list[int]:
        """The showings ``participant`` has voted on."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT showing FROM votes WHERE participant = ? ORDER BY showing", (participant,)
            ).fetchall()
        return [r["showing"] for r in rows]

    def vote(self, participant: str, index: int, choice: str, response_ms: int | None) -> dict:
        """Record one vote: ``choice`` ("left" or "right") on showing ``index``. WebError 404
        (unknown participant), 422 (bad index or choice), 409 (showing already answered)."""
        schedule = self.schedule(participant)
        if not 0 <= index < len(schedule):
            raise WebError(422, f"index must be 0..{len(schedule) - 1}, got {index}", field="index")
        if choice not in ("left", "right"):
            raise WebError(422, f"choice must be 'left' or 'right', got {choice!r}", field="choice")
        show = schedule[index]
        q = self.questions[show["question"]]
        left, right = (q["a"], q["b"]) if show["a_left"] else (q["b"], q["a"])
        chosen = left if choice == "left" else right
        row = (
            participant,
            index,
            show["question"],
            show["repeat"],
            q["item"],
            left,
            right,
            chosen,
            choice,
            _now(),
            response_ms,
        )
        try:
            with self._lock, self._connect() as db:
                db.execute(
                    "INSERT INTO votes (participant, showing, question, repeat, item, left_method,"
                    " right_method, chosen, chosen_side, voted_at, response_ms)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    row,
                )
        except sqlite3.IntegrityError as err:
            raise WebError(409, f"showing {index} was answered already", field="index") from err
        answered = len(self.answered(participant))
        out: dict = {"answered": answered, "total": len(schedule)}
        if answered == len(schedule):  # the last answer: say whether this participant counts
            mine = [v for v in self.votes() if v["participant"] == participant]
            record = consistency(mine)[participant]
            out["consistency"] = {**without_nan(record), "counted": counts(record, self.threshold)}
        return out

    def votes(self) -> list[dict]:
        """Every vote, oldest first, as dicts with :data:`VOTE_COLUMNS` plus ``left`` and
        ``right`` (the methods shown) for :mod:`.stats`."""
        with self._connect() as db:
            rows = db.execute(f"SELECT {', '.join(VOTE_COLUMNS)} FROM votes ORDER BY id").fetchall()
        return [{**dict(r), "left": r["left_method"], "right": r["right_method"]} for r in rows]

    # -- results ---------------------------------------------------------------------------------

    def results(self) -> dict:
        """The preference table of :func:`.stats.preference_table` plus the study's id,
        question and methods (a rate without votes is None)."""
        table = preference_table(self.votes(), self.methods, self.threshold)
        counted = sum(r["counted"] for r in table["participants"].values())
        return without_nan(
            {
                "id": self.id,
                "question": self.study.get("question", QUESTION),
                "methods": self.methods,
                "questions": len(self.questions),
                "participants_counted": counted,
                **table,
            }
        )

    def results_csv(self) -> str:
        """One CSV line per pair of methods (the columns of the preference table)."""
        pairs = self.results()["pairs"]
        columns = [
            "method_a",
            "method_b",
            "votes",
            "votes_a",
            "votes_b",
            "rate_a",
            "half_width",
            "normal_low",
            "normal_high",
            "wilson_low",
            "wilson_high",
            "paper",
        ]
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in pairs:
            writer.writerow({k: row[k] for k in columns})
        return buffer.getvalue()

    def votes_csv(self) -> str:
        """Every vote as CSV (one row per vote, :data:`VOTE_COLUMNS`)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(VOTE_COLUMNS)
        for vote in self.votes():
            writer.writerow([vote[c] for c in VOTE_COLUMNS])
        return buffer.getvalue()

    def image(self, token: str) -> Path:
        """The file of an image token (WebError 404 for anything that is not one of this
        study's tokens, so no path outside images/ can be named)."""
        if not TOKEN_RE.fullmatch(token or "") or token not in self.tokens:
            raise WebError(404, f"no image {token!r} in study {self.id}", field="token")
        return self.folder / "images" / f"{token}.png"
