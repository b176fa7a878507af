"""Training the emoji category classifier of :mod:`inpaintkit.metrics.classifier` on the google
emoji TRAIN split (data, augmentation, loop, evaluation). The command line is
:mod:`inpaintkit.metrics.train_classifier`."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import InpaintkitError
from .classifier import CLASSES, EmojiClassifier, predict, save_classifier, to_input


def emoji_with_labels(
    style: str = "google", split: str = "train"
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The emoji of one split with their category labels and base ids.

    Returns (images uint8 [N, 64, 64, 3] on white, labels int64 [N] indexing :data:`CLASSES`,
    bases: str array [N] of base unified ids, is_base: bool [N], True for a base emoji and False
    for a skin-tone variant), in :func:`inpaintkit.data.emoji.load_emoji`'s order, "Component"
    emoji dropped. Fetches the npm package on first use.
    """
    from ..data.emoji import emoji_index, fetch_emoji, read_rgb_on_white, split_index

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
        f"python -m inpaintkit.metrics.train_classifier --out {out_path} --epochs {epochs} "
        f"--seed {seed}"
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
