"""LoRA on a diffusers UNet2DModel with peft, and the adapter file (RealFill's fine-tuning).

RealFill (Tang et al., "RealFill: Reference-Driven Generation for Authentic Image Completion",
SIGGRAPH 2024, section 3 and its supplementary) adapts the inpainting model with LoRA (Hu et al.
2022) of rank 8 on the attention projections; alpha 16 and dropout 0.1 are its public code's
settings. Here peft's ``inject_adapter_in_model`` adds the low-rank pairs to a COPY of the
model's UNet2DModel in place (UNet2DModel has no ``add_adapter``; the class stays UNet2DModel, so
everything that runs a UNet runs the adapted one). peft initialises B = 0, so an adapted network
computes exactly what its base does until it is trained.

The adapter file is a safetensors file of the LoRA tensors only ("<network>.<peft key>", the
adapter name removed) with metadata: format, backend, the LoRA settings and targets, and a
fingerprint of the base UNet, so loading it on another network is refused instead of producing
garbage. The Stable Diffusion route stores its UNet's and text encoder's adapters in one such
file (peft's own save and load: transformers 5.24's adapter API needs peft >= 0.22, and 0.21.2 is
what is installed here, so diffusers' load_lora_weights cannot place the text encoder's part).
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from ...errors import InpaintkitError

ADAPTER_FORMAT = "inpaintkit-lora-1"
ATTENTION_TARGETS = ("to_q", "to_k", "to_v", "to_out.0")
"""diffusers' attention projections (Attention.to_q/to_k/to_v and the output Linear)."""
CONV_TARGETS = ("conv1", "conv2")
"""The two 3x3 convolutions of every ResNet block (optional, ``LoraSettings.convs``)."""


@dataclass(frozen=True)
class LoraSettings:
    """rank r, alpha (the update is scaled by alpha / r), dropout on the LoRA input, and
    whether the ResNet convolutions get LoRA too (RealFill: attention only)."""

    rank: int = 8
    alpha: float = 16.0
    dropout: float = 0.1
    convs: bool = False

    @property
    def targets(self) -> tuple[str, ...]:
        """peft ``target_modules``: module-name suffixes."""
        return ATTENTION_TARGETS + (CONV_TARGETS if self.convs else ())

    def peft_config(self, targets: tuple[str, ...] | None = None):  # noqa: ANN201 - LoraConfig
        """The ``peft.LoraConfig`` (B initialised to zero, no bias training)."""
        from peft import LoraConfig

        return LoraConfig(
            r=self.rank,
            lora_alpha=self.alpha,
            lora_dropout=self.dropout,
            target_modules=list(targets or self.targets),
            init_lora_weights=True,
            bias="none",
        )


def add_lora(
    network: nn.Module,
    settings: LoraSettings,
    targets: tuple[str, ...] | None = None,
    *,
    seed: int = 0,
) -> nn.Module:
    """A copy of ``network`` with LoRA pairs on ``targets`` (default ``settings.targets``; the
    copy's base weights frozen, only the LoRA tensors trainable); ``network`` itself is left
    untouched. A is drawn (peft's Kaiming-uniform init) from torch's global RNG forked and
    seeded with ``seed``, so the pair is a function of the seed; B is zero. Raises
    InpaintkitError when no module matches the targets."""
    from peft import inject_adapter_in_model

    targets = tuple(targets or settings.targets)
    adapted = copy.deepcopy(network).requires_grad_(False)
    names = [n for n, _ in adapted.named_modules() if n.endswith(targets)]
    if not names:
        raise InpaintkitError(
            f"the network has no module named like {list(targets)}: LoRA needs "
            "attention projections (a network with attention layers)"
        )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        inject_adapter_in_model(settings.peft_config(targets), adapted)
    for name, param in adapted.named_parameters():
        param.requires_grad_("lora_" in name)
    return adapted


def lora_parameters(network: nn.Module) -> list[nn.Parameter]:
    """The trainable LoRA tensors of an adapted network."""
    return [p for n, p in network.named_parameters() if "lora_" in n]


def lora_state(network: nn.Module) -> dict[str, torch.Tensor]:
    """The LoRA tensors of an adapted network as peft names them (adapter name removed)."""
    from peft import get_peft_model_state_dict

    return {k: v.detach().cpu().contiguous() for k, v in get_peft_model_state_dict(network).items()}


def fingerprint(network: nn.Module) -> str:
    """A short hash of the BASE network's tensor names, shapes and first-conv weights (what
    an adapter was fitted on); LoRA tensors are left out, and ``base_layer.`` is read as the
    plain name, so a base and its adapted copy agree."""
    h = hashlib.sha256()
    for name, tensor in sorted(network.state_dict().items()):
        if "lora_" in name:
            continue
        plain = name.replace("base_layer.", "")
        h.update(f"{plain}:{tuple(tensor.shape)};".encode())
        if plain.startswith("conv_in."):
            h.update(tensor.detach().float().cpu().numpy().tobytes())
    return h.hexdigest()[:16]


def save_adapter(
    path: str | Path,
    parts: dict[str, nn.Module],
    settings: LoraSettings,
    base: str,
    *,
    backend: str = "conditional-diffusion",
    targets: dict[str, tuple[str, ...]] | None = None,
) -> Path:
    """Write the LoRA tensors of the adapted networks ``parts`` (name -> network adapted by
    :func:`add_lora`; "unet" first) as one safetensors file, keys "<name>.<peft key>", with
    metadata {format, backend, lora settings, targets per part, base (the base model's source),
    fingerprint (of the base "unet")}; returns the path. Written atomically."""
    from safetensors.torch import save_file

    from ...io import atomic_write

    targets = targets or {name: settings.targets for name in parts}
    metadata = {
        "format": ADAPTER_FORMAT,
        "backend": backend,
        "lora": json.dumps(asdict(settings)),
        "targets": json.dumps({k: list(v) for k, v in targets.items()}),
        "base": str(base),
        "fingerprint": fingerprint(parts["unet"]),
    }
    tensors = {f"{name}.{k}": v for name, net in parts.items() for k, v in lora_state(net).items()}
    path = Path(path)
    atomic_write(path, lambda tmp: save_file(tensors, str(tmp), metadata=metadata))
    return path


def read_adapter(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """(tensors, metadata with "lora" as a LoraSettings and "targets" as a dict) of an adapter
    file; InpaintkitError for a file that is not one."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise InpaintkitError(f"no adapter file {path}")
    try:
        with safe_open(str(path), framework="pt") as f:
            metadata = dict(f.metadata() or {})
            tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 - safe_open API
    except Exception as err:  # safetensors raises its own error types
        raise InpaintkitError(f"{path} is not a safetensors adapter file: {err}") from err
    if metadata.get("format") != ADAPTER_FORMAT:
        raise InpaintkitError(
            f"{path} is not an inpaintkit RealFill adapter (format {metadata.get('format')!r}, "
            f"expected {ADAPTER_FORMAT!r})"
        )
    metadata["lora"] = LoraSettings(**json.loads(metadata["lora"]))
    metadata["targets"] = {k: tuple(v) for k, v in json.loads(metadata["targets"]).items()}
    return tensors, metadata


def load_adapter(
    path: str | Path, parts: dict[str, nn.Module], *, backend: str = "conditional-diffusion"
) -> tuple[dict[str, nn.Module], dict]:
    """(name -> an adapted copy of each base network of ``parts``, loaded with the file's LoRA
    tensors; the file's metadata). Refuses an adapter of another backend, one fitted on another
    base network (fingerprints of "unet" differ) or whose tensors do not fit, naming the file."""
    from peft import set_peft_model_state_dict

    tensors, metadata = read_adapter(path)
    if metadata.get("backend") != backend:
        raise InpaintkitError(
            f"adapter {path} belongs to a {metadata.get('backend')} model, this one is {backend}"
        )
    expected = fingerprint(parts["unet"])
    if metadata.get("fingerprint") != expected:
        raise InpaintkitError(
            f"adapter {path} was fitted on another network ({metadata.get('base')}, fingerprint "
            f"{metadata.get('fingerprint')}); this model's is {expected}: fit again or pass "
            "the model it was fitted on"
        )
    adapted = {}
    for name, network in parts.items():
        net = add_lora(network, metadata["lora"], metadata["targets"].get(name))
        prefix = f"{name}."
        mine = {k[len(prefix) :]: v for k, v in tensors.items() if k.startswith(prefix)}
        wanted = set(lora_state(net))
        if set(mine) != wanted:
            raise InpaintkitError(
                f"adapter {path} holds {len(mine)} LoRA tensors for {name}, the network takes "
                f"{len(wanted)} (e.g. missing {sorted(wanted - set(mine))[:1]}, extra "
                f"{sorted(set(mine) - wanted)[:1]})"
            )
        result = set_peft_model_state_dict(net, mine)
        if getattr(result, "unexpected_keys", None):
            raise InpaintkitError(
                f"adapter {path}: tensors {result.unexpected_keys[:3]} do not fit"
            )
        adapted[name] = net.eval()
    return adapted, metadata


__all__ = [
    "ADAPTER_FORMAT",
    "ATTENTION_TARGETS",
    "CONV_TARGETS",
    "LoraSettings",
    "add_lora",
    "fingerprint",
    "load_adapter",
    "lora_parameters",
    "lora_state",
    "read_adapter",
    "save_adapter",
]
