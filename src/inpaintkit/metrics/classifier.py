"""A small emoji CATEGORY classifier whose penultimate features feed the project-internal
realism score "KID (project-internal emoji classifier features)" (:mod:`inpaintkit.metrics.kid`).

Why it exists: no package ships Inception (FID/KID) or AlexNet/VGG (LPIPS) weights, and we never
compute those scores with random weights (DESIGN section 5). This network is trained here, on the
google emoji TRAIN split only, so its features know what emoji look like; scores built on it are
comparable only with other scores built on the same weights file.

Labels: the emoji's ``category`` in the package's ``emoji.json`` (Unicode's groups). Nine classes,
in :data:`CLASSES`; "Component" (5 skin-tone swatches, all in the train split) is left out.
Categories rather than the ~99 subcategories: a subcategory has about 17 base emoji on average
(fewer in the train split), too few to learn from; categories are coarse, but training on them
still gives features that see shape, colour and texture (measured in the weights card).

Architecture (:class:`EmojiClassifier`): 4 blocks of conv3x3 -> GroupNorm(8) -> SiLU, widths
32, 64, 128, 128, a 2x2 max-pool after each of the first three (64 -> 32 -> 16 -> 8), global
average pool -> the 128-d feature, dropout, linear -> 9 logits. About 0.24 M parameters.
Input: float [B, 3, 64, 64] in [-1, 1] (uint8 / 127.5 - 1). GroupNorm, not BatchNorm, so a
feature never depends on the other images in the batch.

Training (:mod:`.classifier_training`): AdamW, cosine learning rate, batch 64; each step samples
images with weight 1 / (images of its base emoji), so the 1875 skin-tone variants count as their
one base emoji instead of making "People & Body" 60% of the data. Augmentation: random shifts of up
to 4 px (white padding) and horizontal flips (a category does not change under a mirror).

Script: ``python -m inpaintkit.metrics.train_classifier --out PATH --epochs N [--seed S]``.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import InpaintkitError
from ..io.tensors import arrays_to_tensor

FORMAT = "inpaintkit-emoji-classifier-1"
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "metrics_weights"
DEFAULT_WEIGHTS = WEIGHTS_DIR / "emoji_classifier.safetensors"

#: The nine emoji.json categories used as labels, in Unicode's order ("Component" left out).
CLASSES: tuple[str, ...] = (
    "Smileys & Emotion",
    "People & Body",
    "Animals & Nature",
    "Food & Drink",
    "Travel & Places",
    "Activities",
    "Objects",
    "Symbols",
    "Flags",
)


@dataclass(frozen=True)
class ClassifierConfig:
    """Architecture of :class:`EmojiClassifier` (stored in the weights file's metadata).

    widths: output channels of the 4 conv blocks (the last one is the feature size d).
    groups: GroupNorm groups. input_size: H = W of the input in pixels. num_classes: logits.
    dropout: before the linear head (training only).
    """

    widths: tuple[int, ...] = (32, 64, 128, 128)
    groups: int = 8
    input_size: int = 64
    num_classes: int = len(CLASSES)
    dropout: float = 0.1

    @property
    def feature_dim(self) -> int:
        return self.widths[-1]

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> ClassifierConfig:
        data = json.loads(text)
        data["widths"] = tuple(data["widths"])
        return cls(**data)


class EmojiClassifier(nn.Module):
    """conv3x3-GroupNorm-SiLU blocks, max-pool between them, global average pool, linear head."""

    def __init__(self, config: ClassifierConfig | None = None) -> None:
        super().__init__()
        self.config = config or ClassifierConfig()
        layers: list[nn.Module] = []
        c_in = 3
        for i, c_out in enumerate(self.config.widths):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.GroupNorm(self.config.groups, c_out),
                nn.SiLU(),
            ]
            if i < len(self.config.widths) - 1:
                layers.append(nn.MaxPool2d(2))
            c_in = c_out
        self.body = nn.Sequential(*layers)
        self.dropout = nn.Dropout(self.config.dropout)
        self.head = nn.Linear(c_in, self.config.num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """float [B, 3, S, S] in [-1, 1] -> the penultimate features, float [B, d] (d = 128)."""
        return self.body(x).mean(dim=(2, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """float [B, 3, S, S] in [-1, 1] -> logits [B, num_classes]."""
        return self.head(self.dropout(self.features(x)))


def to_input(images: np.ndarray) -> torch.Tensor:
    """uint8 [N, H, W, 3] -> float32 [N, 3, H, W] in [-1, 1] (x / 127.5 - 1)."""
    return arrays_to_tensor(images)


@torch.inference_mode()
def predict(model: EmojiClassifier, images: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class indices int64 [N] for uint8 [N, S, S, 3] images (S = the model's input size)."""
    model.eval()
    out = [
        model(to_input(images[i : i + batch_size])).argmax(1).numpy()
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(out)


# ---------------------------------------------------------------------------------------------
# save / load


def save_classifier(model: EmojiClassifier, path: str | Path, training: dict | None = None) -> Path:
    """Write ``model`` as fp16 .safetensors (atomically) with config, class names and the
    ``training`` facts (a JSON-able dict) in the metadata."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.detach().to(torch.float16).contiguous() for k, v in model.state_dict().items()}
    metadata = {
        "format": FORMAT,
        "name": "emoji category classifier (features for KID, project-internal)",
        "config": model.config.to_json(),
        "classes": json.dumps(list(CLASSES)),
        "training": json.dumps(training or {}),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        save_file(tensors, tmp, metadata=metadata)
        os.chmod(tmp, 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def load_classifier(path: str | Path | None = None) -> tuple[EmojiClassifier, dict]:
    """Load a classifier file (default: the shipped :data:`DEFAULT_WEIGHTS`), float32, eval mode.

    Returns (model, metadata) where metadata has "config" (dict), "classes" (list of str) and
    "training" (dict). Raises InpaintkitError for a missing or foreign file.
    """
    from safetensors import SafetensorError, safe_open

    path = Path(path) if path is not None else DEFAULT_WEIGHTS
    try:
        with safe_open(str(path), framework="pt") as f:
            raw = f.metadata() or {}
            state = {k: f.get_tensor(k).float() for k in f.keys()}
    except (SafetensorError, OSError, ValueError) as err:
        raise InpaintkitError(f"{path} is not a readable .safetensors file: {err}") from err
    if raw.get("format") != FORMAT:
        raise InpaintkitError(
            f"{path} is not an inpaintkit emoji classifier (metadata format "
            f"{raw.get('format')!r}, expected {FORMAT!r})"
        )
    config = ClassifierConfig.from_json(raw["config"])
    model = EmojiClassifier(config)
    model.load_state_dict(state)
    model.eval().requires_grad_(False)
    meta = {
        "config": asdict(config),
        "classes": json.loads(raw["classes"]),
        "training": json.loads(raw.get("training", "{}")),
    }
    return model, meta
