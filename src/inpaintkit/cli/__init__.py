"""The ``inpaintkit`` command line (typer), one module per command group. Nothing below this
package imports it."""

from . import bench, info, inpaint, train  # noqa: F401  (each registers its commands)
from .app import app

__all__ = ["app"]
