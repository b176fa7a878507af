"""A small emoji CATEGORY classifier whose penultimate features feed the project-internal
realism score "KID (project-internal emoji classifier features)" (:mod:`inpaintkit.metrics`).

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

Training (:func:`train_classifier`): AdamW, cosine learning rate, batch 64; each step samples
images with weight 1 / (images of its base emoji), so the 1875 skin-tone variants count as their
one base emoji instead of making "People & Body" 60% of the data. Augmentation: random shifts of up
to 4 px (white padding) and horizontal flips (a category does not change under a mirror).

Script: ``python -m inpaintkit.metrics_classifier --out PATH --epochs N [--seed S]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .errors import InpaintkitError

FORMAT = "inpaintkit-emoji-classifier-1"
WEIGHTS_DIR = Path(__file__).resolve().parent / "metrics_weights"
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
    x = torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2).float()
    return x / 127.5 - 1.0


# ---------------------------------------------------------------------------------------------
# data


def emoji_with_labels(
    style: str = "google", split: str = "train"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The emoji of one split with their category labels and base ids.

    Returns (images uint8 [N, 64, 64, 3] on white, labels int64 [N] indexing :data:`CLASSES`,
    bases: str array [N] of base unified ids, is_base: bool [N], True for a base emoji and False
    for a skin-tone variant), in :func:`inpaintkit.data.emoji.load_emoji`'s order, "Component"
    emoji dropped. Fetches the npm package on first use.
    """
    from .data.emoji import emoji_index, fetch_emoji, read_rgb_on_white, split_index

    images_dir = fetch_emoji(style)
    meta = json.loads((images_dir.parents[2] / "emoji.json").read_text(encoding="utf-8"))
    category = {e["unified"]: e["category"] for e in meta}
    entries = [
        e for e in split_index(emoji_index(images_dir), split) if category[e.base] in CLASSES
    ]
    images = np.stack([read_rgb_on_white(images_dir / e.image, 64) for e in entries])
    labels = np.array([CLASSES.index(category[e.base]) for e in entries], dtype=np.int64)
    bases = np.array([e.base for e in entries])
    is_base = np.array([e.unified == e.base for e in entries])
    return images, labels, bases, is_base


def _augment(x: torch.Tensor, shift: int, generator: torch.Generator) -> torch.Tensor:
    """Random shifts of up to ``shift`` px (white padding, value 1) and horizontal flips."""
    b, _, h, w = x.shape
    padded = nn.functional.pad(x, (shift,) * 4, value=1.0)
    offsets = torch.randint(0, 2 * shift + 1, (b, 2), generator=generator)
    flips = torch.rand(b, generator=generator) < 0.5
    out = torch.empty_like(x)
    for i in range(b):
        dy, dx = int(offsets[i, 0]), int(offsets[i, 1])
        crop = padded[i, :, dy : dy + h, dx : dx + w]
        out[i] = crop.flip(-1) if flips[i] else crop
    return out


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


# ---------------------------------------------------------------------------------------------
# training


def train_classifier(
    out_path: str | Path,
    epochs: int = 15,
    seed: int = 0,
    *,
    batch_size: int = 64,
    lr: float = 2e-3,
    weight_decay: float = 5e-4,
    shift: int = 4,
    num_threads: int | None = None,
    eval_twitter: bool = True,
    log: bool = True,
) -> dict:
    """Train :class:`EmojiClassifier` on the google emoji TRAIN split (64x64) and save it.

    out_path: the .safetensors file to write. epochs: passes of len(train) sampled images
    (default 15, as shipped). seed: initialisation, sampling, augmentation and dropout
    (default 0); the global torch RNG is left as it was. batch_size: default 64. lr, weight_decay:
    AdamW's (2e-3, 5e-4), with a 1-epoch linear warm-up then cosine decay to 0. shift: the
    largest augmentation shift in px (default 4). num_threads: torch CPU threads (None: leave as
    is; the script passes 2). eval_twitter: also evaluate on the twitter-style test split.

    The saved weights are rounded to fp16; accuracies are measured with those rounded weights on
    the google TEST split (per image, and base emoji only) and, when ``eval_twitter``, on the
    twitter-style TEST split. Returns the training facts stored in the file's metadata.
    """
    if epochs < 1:
        raise InpaintkitError(f"epochs must be >= 1, got {epochs}")
    if num_threads is not None:
        torch.set_num_threads(num_threads)
    start = time.perf_counter()
    images, labels, bases, _ = emoji_with_labels("google", "train")
    _, per_base = np.unique(bases, return_inverse=True)
    sample_weight = torch.from_numpy(1.0 / np.bincount(per_base)[per_base])
    x_all = to_input(images)
    y_all = torch.from_numpy(labels)

    gen = torch.Generator().manual_seed(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = EmojiClassifier()
    model = model.to(memory_format=torch.channels_last)  # about 30% faster on CPU
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    steps_per_epoch = math.ceil(len(images) / batch_size)
    total = epochs * steps_per_epoch

    def lr_at(step: int) -> float:
        if step < steps_per_epoch:
            return lr * (step + 1) / steps_per_epoch
        frac = (step - steps_per_epoch) / max(1, total - steps_per_epoch)
        return 0.5 * lr * (1.0 + math.cos(math.pi * frac))

    step = 0
    for epoch in range(epochs):
        model.train()
        order = torch.multinomial(sample_weight, len(images), replacement=True, generator=gen)
        loss_sum, correct = 0.0, 0
        for i in range(0, len(order), batch_size):
            idx = order[i : i + batch_size]
            x = _augment(x_all[idx], shift, gen).contiguous(memory_format=torch.channels_last)
            y = y_all[idx]
            for group in opt.param_groups:
                group["lr"] = lr_at(step)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed * 1_000_003 + step)  # dropout
                logits = model(x)
            loss = nn.functional.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            loss_sum += loss.item() * len(idx)
            correct += int((logits.argmax(1) == y).sum())
            step += 1
        if log:
            print(
                f"epoch {epoch + 1}/{epochs} loss {loss_sum / len(order):.3f} "
                f"train-acc {correct / len(order):.3f} ({time.perf_counter() - start:.0f} s)",
                flush=True,
            )
    train_seconds = time.perf_counter() - start

    # Evaluate exactly the weights that are shipped: fp16-rounded.
    model.load_state_dict({k: v.half().float() for k, v in model.state_dict().items()})
    model.eval()
    facts: dict = {
        "data": "emoji-datasource-google 16.0.0, TRAIN split (inpaintkit.data.emoji), 64x64 on "
        "white, 'Component' dropped",
        "train_images": int(len(images)),
        "train_base_emoji": int(len(np.unique(bases))),
        "epochs": epochs,
        "seed": seed,
        "batch_size": batch_size,
        "optimizer": f"AdamW lr {lr} wd {weight_decay}, 1-epoch warm-up, cosine",
        "augmentation": f"shift <= {shift} px (white pad), horizontal flip p=0.5",
        "sampling": "weight 1/(images of the base emoji)",
        "train_seconds": round(train_seconds, 1),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "parameters": sum(p.numel() for p in model.parameters()),
    }
    facts.update(_evaluate(model, "google"))
    if eval_twitter:
        facts.update(_evaluate(model, "twitter"))
    facts["command"] = (
        f"python -m inpaintkit.metrics_classifier --out {out_path} --epochs {epochs} --seed {seed}"
    )
    save_classifier(model, out_path, facts)
    if log:
        print(json.dumps(facts, indent=2))
    return facts


def _evaluate(model: EmojiClassifier, style: str) -> dict:
    """Test-split accuracies (all images; base emoji only) and the majority-class baseline."""
    images, labels, _, is_base = emoji_with_labels(style, "test")
    pred = predict(model, images)
    majority = np.bincount(labels[is_base]).max() / is_base.sum()
    return {
        f"{style}_test_images": int(len(labels)),
        f"{style}_test_accuracy": round(float((pred == labels).mean()), 4),
        f"{style}_test_base_emoji": int(is_base.sum()),
        f"{style}_test_base_accuracy": round(float((pred == labels)[is_base].mean()), 4),
        f"{style}_test_base_majority_class_rate": round(float(majority), 4),
    }


def main(argv: list[str] | None = None) -> None:
    """Command line: ``python -m inpaintkit.metrics_classifier --out PATH --epochs N``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--out", type=Path, required=True, help=f"output .safetensors (shipped: {DEFAULT_WEIGHTS})"
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    parser.add_argument("--no-twitter", action="store_true", help="skip the twitter evaluation")
    args = parser.parse_args(argv)
    train_classifier(
        args.out,
        args.epochs,
        args.seed,
        num_threads=args.threads,
        eval_twitter=not args.no_twitter,
    )


if __name__ == "__main__":
    main()
