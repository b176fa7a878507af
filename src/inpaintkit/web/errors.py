"""The web layer's one error: an HTTP status, words naming the problem, and the field it is about.

Every refusal of the server is a :class:`WebError`; the app turns it into a JSON body
``{"detail": words, "field": name}`` (plus ``"option"`` for a bad method option) with its status,
and the server keeps serving.
"""

from __future__ import annotations


class WebError(Exception):
    """An input the server refuses. status: the HTTP status (4xx); detail: what was expected and
    what was found; field: the form field, path part or option concerned (or None); headers:
    extra response headers (e.g. Retry-After); extra: more JSON keys for the body."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        **extra: object,
    ) -> None:
        super().__init__(detail)
        self.status, self.detail, self.field = status, detail, field
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict:
        """The JSON body of the response."""
        return {"detail": self.detail, "field": self.field, **self.extra}
