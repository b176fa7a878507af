"""The web app: paint a hole, pick a method, watch it fill (``inpaintkit serve``), and the
RePaint paper's two-alternative user study (``inpaintkit study``). Only the command line
imports this package; it needs the ``web`` extra (fastapi, uvicorn, python-multipart)."""

from .app import create_app
from .config import ServerConfig, exposure_warning, is_loopback

__all__ = ["ServerConfig", "create_app", "exposure_warning", "is_loopback"]
