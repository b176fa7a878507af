"""inpaintkit: free-form image inpainting with diffusion models (RePaint) and baselines."""

from .api import inpaint, inpaint_batch
from .errors import InpaintkitError
from .models import load_model

__version__ = "0.1.0"
__all__ = ["InpaintkitError", "__version__", "inpaint", "inpaint_batch", "load_model"]
