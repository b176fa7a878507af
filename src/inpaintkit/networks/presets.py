"""Named network presets (one source of defaults, DESIGN rule 9).

A preset fixes everything about a model that a checkpoint must reproduce, for one model kind:

- :class:`Preset` (kind "prior"): a diffusers UNet2DModel layout and the diffusion process
  (T, beta schedule, parameterisation);
- :class:`ConditionalPreset` (kind "conditional-diffusion"): the same, with a UNet whose input is
  cat(x_t [C], hole [1], masked image [C]) -- 2C + 1 channels, Stable Diffusion inpainting's order;
- :class:`GeneratorPreset` (kind "feedforward"): a generator and its discriminators, each a network
  class name plus its config (built by ``inpaintkit.networks.build_network``);
- :class:`BundlePreset` (kind "bundle"): several named networks and a process config of their own.

Training knobs (steps, batch, learning rate, loss weights...) live in ``inpaintkit.train``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import ClassVar

from diffusers import UNet2DModel

from ..diffusion.schedules import BETA_SCHEDULES
from ..errors import InpaintkitError
from .survey_presets import PHOTO_PRESETS, STRDIFFUSION32_NETWORKS, SURVEY_PRESETS


@dataclass(frozen=True)
class Preset:
    """A UNet2DModel layout and a diffusion process (model kind "prior").

    resolution: image side in pixels (square images).
    block_out_channels: channel width of each resolution level, highest resolution first; level i
        works at resolution / 2**i.
    layers_per_block: ResNet blocks per level on the way down (the way up has one more).
    attention_resolutions: the levels (by their resolution in pixels) that get self-attention,
        e.g. (16,) puts AttnDownBlock2D / AttnUpBlock2D at the 16x16 level.
    attention_head_dim: channels per attention head.
    mid_block: whether the UNet has its middle block (ResNet-attention-ResNet at the lowest level).
    resnet_time_scale_shift: "default" (add the time embedding) or "scale_shift" (FiLM-style,
        guided-diffusion's use_scale_shift_norm).
    norm_num_groups: GroupNorm groups; must divide every width.
    dropout: dropout inside the ResNet blocks.
    learned_variance: the network outputs 2C channels (eps and Improved DDPM's v); training it
        needs the hybrid loss (``inpaintkit.train.losses.hybrid_loss``).
    beta_schedule: "linear" or "cosine" (:func:`inpaintkit.diffusion.schedules.make_betas`).
    num_train_timesteps: T.
    """

    name: str
    resolution: int
    block_out_channels: tuple[int, ...]
    layers_per_block: int = 2
    attention_resolutions: tuple[int, ...] = (16,)
    attention_head_dim: int = 32
    mid_block: bool = True
    resnet_time_scale_shift: str = "default"
    norm_num_groups: int = 32
    dropout: float = 0.0
    learned_variance: bool = False
    beta_schedule: str = "linear"
    num_train_timesteps: int = 1000
    in_channels: int = 3  # image channels C (the UNet's input has more for conditional kinds)
    notes: str = field(default="", compare=False)

    kind: ClassVar[str] = "prior"

    def __post_init__(self) -> None:
        if self.beta_schedule not in BETA_SCHEDULES:
            raise InpaintkitError(
                f"preset {self.name!r}: unknown beta schedule {self.beta_schedule!r}; "
                f"choose one of {BETA_SCHEDULES}"
            )
        levels = self.level_resolutions
        if levels[-1] < 1 or self.resolution % 2 ** (len(levels) - 1):
            raise InpaintkitError(
                f"preset {self.name!r}: resolution {self.resolution} cannot be halved "
                f"{len(levels) - 1} times"
            )
        stray = set(self.attention_resolutions) - set(levels)
        if stray:
            raise InpaintkitError(
                f"preset {self.name!r}: attention at {sorted(stray)} but the levels are {levels}"
            )

    @property
    def level_resolutions(self) -> tuple[int, ...]:
        """Resolution of each level, e.g. (32, 16, 8)."""
        return tuple(self.resolution // 2**i for i in range(len(self.block_out_channels)))

    @property
    def down_block_types(self) -> tuple[str, ...]:
        return tuple(
            "AttnDownBlock2D" if r in self.attention_resolutions else "DownBlock2D"
            for r in self.level_resolutions
        )

    @property
    def up_block_types(self) -> tuple[str, ...]:
        return tuple(
            "AttnUpBlock2D" if r in self.attention_resolutions else "UpBlock2D"
            for r in reversed(self.level_resolutions)
        )

    @property
    def out_channels(self) -> int:
        return 2 * self.in_channels if self.learned_variance else self.in_channels

    def unet_config(self) -> dict:
        """Keyword arguments of ``diffusers.UNet2DModel`` for this preset."""
        return {
            "sample_size": self.resolution,
            "in_channels": self.in_channels,
            "out_channels": self.out_channels,
            "block_out_channels": tuple(self.block_out_channels),
            "layers_per_block": self.layers_per_block,
            "down_block_types": self.down_block_types,
            "up_block_types": self.up_block_types,
            "mid_block_type": "UNetMidBlock2D" if self.mid_block else None,
            "attention_head_dim": self.attention_head_dim,
            "resnet_time_scale_shift": self.resnet_time_scale_shift,
            "norm_num_groups": self.norm_num_groups,
            "dropout": self.dropout,
        }

    def build_unet(self) -> UNet2DModel:
        """A freshly initialised UNet2DModel (diffusers' default init; uses torch's global RNG,
        so seed it first -- the trainer does)."""
        return UNet2DModel(**self.unet_config())

    def process_config(self) -> dict:
        """The diffusion process a model trained with this preset is saved with: the keyword
        arguments of ``inpaintkit.models.spec.DiffusionConfig``."""
        return {
            "num_train_timesteps": self.num_train_timesteps,
            "beta_schedule": self.beta_schedule,
            "prediction": "epsilon",
            "learned_variance": self.learned_variance,
        }

    def to_dict(self) -> dict:
        """Plain JSON-able dict (tuples become lists); other kinds than "prior" add "kind"."""
        data = asdict(self)
        data = {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}
        return data if self.kind == "prior" else {"kind": self.kind, **data}

    @classmethod
    def from_dict(cls, data: dict) -> Preset:
        tuples = {"block_out_channels", "attention_resolutions"}
        data = {k: v for k, v in data.items() if k != "kind"}
        return cls(**{k: tuple(v) if k in tuples else v for k, v in data.items()})


@dataclass(frozen=True)
class ConditionalPreset(Preset):
    """A conditional inpainting UNet (model kind "conditional-diffusion").

    Same fields as :class:`Preset`; ``in_channels`` is the IMAGE channel count C. The UNet takes
    cat(x_t [C], hole [1] (1 = hole), masked image = known * keep [C]) -- 2C + 1 channels in
    Stable Diffusion inpainting's order -- and outputs eps [C] (2C with learned variance).
    """

    kind: ClassVar[str] = "conditional-diffusion"

    def unet_config(self) -> dict:
        """Keyword arguments of ``diffusers.UNet2DModel``: in_channels 2C + 1."""
        return {**super().unet_config(), "in_channels": 2 * self.in_channels + 1}


@dataclass(frozen=True)
class GeneratorPreset:
    """A feed-forward inpainting generator and its discriminators (model kind "feedforward").

    resolution: training image side in pixels. channels: image channels C.
    generator: {"class": <network class name>, "config": {...}}, called as
        ``generator(masked [B,C,H,W], hole [B,1,H,W], *extras) -> image [B,C,H,W]``.
    discriminators: name -> {"class": ..., "config": ...}; each maps [B,C(+1),H,W] to logits.
    extra_inputs: names of extra input tensors the generator takes after the hole.
    multiple: input sides must be multiples of it (the generator's downsampling).
    """

    name: str
    resolution: int
    generator: dict
    discriminators: dict = field(default_factory=dict)
    channels: int = 3
    extra_inputs: tuple[str, ...] = ()
    multiple: int = 1
    notes: str = field(default="", compare=False)

    kind: ClassVar[str] = "feedforward"

    def __post_init__(self) -> None:
        specs = {"generator": self.generator, **self.discriminators}
        for role, spec in specs.items():
            if not (isinstance(spec, dict) and isinstance(spec.get("class"), str)):
                raise InpaintkitError(
                    f"preset {self.name!r}: {role} must be {{'class': name, 'config': {{...}}}}, "
                    f"got {spec!r}"
                )
        if self.resolution % self.multiple:
            raise InpaintkitError(
                f"preset {self.name!r}: resolution {self.resolution} is not a multiple of "
                f"{self.multiple}"
            )

    def to_dict(self) -> dict:
        """Plain JSON-able dict with "kind"."""
        data = asdict(self)
        data["extra_inputs"] = list(self.extra_inputs)
        return {"kind": self.kind, **data}

    @classmethod
    def from_dict(cls, data: dict) -> GeneratorPreset:
        data = {k: v for k, v in data.items() if k != "kind"}
        data["extra_inputs"] = tuple(data.get("extra_inputs", ()))
        return cls(**data)


@dataclass(frozen=True)
class BundlePreset:
    """Several named networks and a process config of their own (model kind "bundle", e.g.
    StrDiffusion's structure and texture networks and discriminator).

    resolution: training image side in pixels. networks: name -> {"class": ..., "config": ...}
    (built by ``inpaintkit.networks.build_network``). process: the JSON-able process config the
    model is saved with (its objective and method read it). channels: image channels C.
    """

    name: str
    resolution: int
    networks: dict
    process: dict = field(default_factory=dict)
    channels: int = 3
    notes: str = field(default="", compare=False)

    kind: ClassVar[str] = "bundle"

    def __post_init__(self) -> None:
        if not self.networks:
            raise InpaintkitError(f"preset {self.name!r}: a bundle needs at least one network")
        for role, spec in self.networks.items():
            if not (isinstance(spec, dict) and isinstance(spec.get("class"), str)):
                raise InpaintkitError(
                    f"preset {self.name!r}: network {role!r} must be {{'class': name, "
                    f"'config': {{...}}}}, got {spec!r}"
                )

    def to_dict(self) -> dict:
        """Plain JSON-able dict with "kind"."""
        return {"kind": self.kind, **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict) -> BundlePreset:
        return cls(**{k: v for k, v in data.items() if k != "kind"})


AnyPreset = Preset | ConditionalPreset | GeneratorPreset | BundlePreset
_CLASSES = {
    "prior": Preset,
    "conditional-diffusion": ConditionalPreset,
    "feedforward": GeneratorPreset,
    "bundle": BundlePreset,
}


def preset_from_dict(data: dict) -> AnyPreset:
    """Inverse of ``preset.to_dict()`` for every preset class (by its "kind"; none = prior)."""
    kind = data.get("kind", "prior")
    if kind not in _CLASSES:
        raise InpaintkitError(f"unknown preset kind {kind!r}; choose one of {tuple(_CLASSES)}")
    return _CLASSES[kind].from_dict(data)


IMPROVED_DDPM = dict(
    resnet_time_scale_shift="scale_shift", dropout=0.1, learned_variance=True,
    beta_schedule="cosine",
)  # fmt: skip
"""emoji32's Improved-DDPM choices, shared by the presets built on it."""

PRESETS: dict[str, AnyPreset] = {
    p.name: p
    for p in (
        Preset(
            name="emoji32-tiny",
            resolution=32,
            block_out_channels=(32, 64, 64),
            layers_per_block=1,
            attention_resolutions=(16,),
            mid_block=False,
            notes=(
                "0.93M parameters: one ResNet per level down and no middle block, so its fp16 "
                "file stays under 2 MB; for the placeholder model and tests"
            ),
        ),
        Preset(
            name="emoji32",
            resolution=32,
            block_out_channels=(64, 128, 128),
            layers_per_block=2,
            attention_resolutions=(16, 8),
            **IMPROVED_DDPM,
            notes=(
                "7.28M parameters, learned variance (RePaint's Sigma_theta, trained with Improved "
                "DDPM's hybrid loss) and the cosine schedule; a 32x32 prior for CPU training"
            ),
        ),
        Preset(
            name="emoji64",
            resolution=64,
            block_out_channels=(64, 128, 256, 256),
            layers_per_block=2,
            attention_resolutions=(16, 8),
            attention_head_dim=64,
            resnet_time_scale_shift="scale_shift",
            dropout=0.1,
            notes="about 27M parameters; 64x64 needs a GPU",
        ),
        Preset(
            name="photo64",
            resolution=64,
            block_out_channels=(32, 64, 128, 128),
            layers_per_block=1,
            attention_resolutions=(16, 8),
            **IMPROVED_DDPM,
            notes="4.70M parameters: a 64x64 prior of photo patches for the crop strategy; "
            "one ResNet per level so a CPU step at batch 16 costs about 3 s",
        ),
        ConditionalPreset(
            name="inpaint32",
            resolution=32,
            block_out_channels=(64, 128, 128),
            layers_per_block=2,
            attention_resolutions=(16, 8),
            **IMPROVED_DDPM,
            notes=(
                "emoji32's layout, learned variance and cosine schedule with 7 input channels "
                "(x_t, hole, masked image): every tensor but conv_in matches emoji32, so it can "
                "start from that prior (TrainConfig.init_from='emoji32')"
            ),
        ),
        ConditionalPreset(
            name="inpaint32-tiny",
            resolution=32,
            block_out_channels=(32, 64, 64),
            layers_per_block=1,
            attention_resolutions=(16,),
            mid_block=False,
            notes="emoji32-tiny's layout with 7 input channels: a conditional inpainting fixture",
        ),
        GeneratorPreset(
            name="encdec32-tiny",
            resolution=32,
            generator={
                "class": "EncoderDecoderGenerator",
                "config": {"channels": 3, "width": 16, "depth": 2, "blocks": 2},
            },
            discriminators={
                "patch": {
                    "class": "PatchDiscriminator",
                    "config": {"in_channels": 4, "width": 16, "depth": 2},
                }
            },
            multiple=4,
            notes="a small encoder-decoder and one PatchGAN: a feed-forward fixture",
        ),
        *(GeneratorPreset(**spec) for spec in SURVEY_PRESETS + PHOTO_PRESETS),
        BundlePreset(
            name="strdiffusion32",
            resolution=32,
            networks=STRDIFFUSION32_NETWORKS,
            process={
                "method": "strdiffusion",
                "image_size": 32,
                "num_steps": 100,
                "max_sigma": 30 / 255,
                "eps": 0.005,
                "schedule": "cosine",
                "canny_sigma": 3 * 32 / 256,
            },
            notes=(
                "StrDiffusion at 32x32: structure and texture IR-SDE UNets (width 16, depth 3) "
                "and a DDGAN-style time discriminator; T = 100, lambda = 30/255, eps = 0.005"
            ),
        ),
    )
}


def get_preset(name: str) -> AnyPreset:
    """The preset called ``name``; InpaintkitError listing the choices otherwise."""
    try:
        return PRESETS[name]
    except KeyError:
        raise InpaintkitError(
            f"unknown network preset {name!r}; choose one of {sorted(PRESETS)}"
        ) from None
