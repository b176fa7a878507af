"""Presets of the wave-2 systems: the survey's CNNs (kind "feedforward": Context Encoders, GLCIC,
partial convolutions, DeepFill v1 and v2, LaMa, each scaled down to 32x32 emoji; their networks'
docstrings say how) and StrDiffusion's three networks (``STRDIFFUSION32_NETWORKS``).
``presets.PRESETS`` builds a ``GeneratorPreset`` of each (keyword arguments here)."""

from __future__ import annotations

SURVEY_PRESETS: tuple[dict, ...] = (
    dict(
        name="context-encoder32",
        resolution=32,
        generator={
            "class": "ContextEncoderGenerator",
            "config": {"channels": 3, "size": 32, "width": 32, "depth": 3},
        },
        discriminators={
            "dcgan": {
                "class": "DCGANDiscriminator",
                "config": {"in_channels": 3, "size": 32, "width": 32, "depth": 3},
            }
        },
        multiple=8,
        notes=(
            "Context Encoders (Pathak et al. 2016) at 32x32: 0.38M-parameter encoder-decoder "
            "with the channel-wise FC bottleneck at 4x4, a DCGAN discriminator; objective "
            "context-encoder; fixed size (larger images are cropped or resized)"
        ),
    ),
    dict(
        name="glcic32",
        resolution=32,
        generator={
            "class": "GLCICGenerator",
            "config": {"channels": 3, "width": 16, "dilations": [1, 2, 4, 4]},
        },
        discriminators={
            "context": {
                "class": "GLCICDiscriminator",
                "config": {
                    "channels": 3,
                    "size": 32,
                    "local_size": 16,
                    "width": 16,
                    "features": 128,
                },
            }
        },
        multiple=4,
        notes=(
            "GLCIC (Iizuka et al. 2017) at 32x32: dilated completion network (rates 1, 2, 4, "
            "4 at its 8x8 bottleneck), global + local (16x16) context discriminator; "
            "objective glcic; any size"
        ),
    ),
    dict(
        name="pconv32",
        resolution=32,
        generator={
            "class": "PartialConvUNet",
            "config": {"channels": 3, "widths": [32, 64, 128, 128], "kernels": [7, 5, 5, 3]},
        },
        multiple=16,
        notes=(
            "Partial convolutions (Liu et al. 2018) at 32x32: a 4-level PConv U-Net, no "
            "discriminator (the paper has none); objective pconv; any size (multiple of 16)"
        ),
    ),
    dict(
        name="deepfill-v1-32",
        resolution=32,
        generator={"class": "DeepFillV1Generator", "config": {"channels": 3, "width": 10}},
        discriminators={
            "global": {
                "class": "WGANCritic",
                "config": {"in_channels": 3, "image_size": 32, "width": 16, "depth": 4},
            },
            "local": {
                "class": "WGANCritic",
                "config": {"in_channels": 3, "image_size": 16, "width": 16, "depth": 3},
            },
        },
        multiple=4,
        notes=(
            "DeepFill v1 (Yu et al. 2018) at 32x32: coarse-to-fine with contextual "
            "attention, WGAN-GP global and local (16x16) critics; objective deepfill-v1"
        ),
    ),
    dict(
        name="deepfill-v2-32",
        resolution=32,
        generator={
            "class": "DeepFillV2Generator",
            "config": {"channels": 3, "width": 16, "sketch": True},
        },
        discriminators={
            "sn_patch": {
                "class": "SNPatchDiscriminator",
                "config": {"in_channels": 5, "width": 16, "depth": 3},
            }
        },
        extra_inputs=("sketch",),
        multiple=4,
        notes=(
            "DeepFill v2 (Yu et al. 2019) at 32x32: gated convolutions, contextual "
            "attention, the sketch channel, SN-PatchGAN; objective deepfill-v2"
        ),
    ),
    dict(
        name="lama32",
        resolution=32,
        generator={
            "class": "LaMaGenerator",
            "config": {"channels": 3, "width": 16, "depth": 2, "blocks": 5, "ratio": 0.75},
        },
        discriminators={
            "patch": {
                "class": "LaMaDiscriminator",
                "config": {"in_channels": 4, "width": 16, "depth": 2},
            }
        },
        multiple=4,
        notes=(
            "LaMa (Suvorov et al. 2022) at 32x32: FFC residual blocks (ratio 0.75), "
            "PatchGAN with R1 and feature matching; objective lama"
        ),
    ),
)

PHOTO_PRESETS: tuple[dict, ...] = (
    dict(
        name="lama-photo128",
        resolution=128,
        generator={
            "class": "LaMaGenerator",
            "config": {
                "channels": 3,
                "width": 24,
                "depth": 3,
                "blocks": 6,
                "ratio": 0.75,
                "prefill": True,
            },
        },
        discriminators={
            "patch": {
                "class": "LaMaDiscriminator",
                "config": {"in_channels": 4, "width": 32, "depth": 3},
            }
        },
        multiple=8,
        notes=(
            "LaMa (Suvorov et al. 2022) for photos, trained on 128x128 multi-scale photo crops: "
            "2.7M-parameter FFC generator (3 downsamplings, 6 FFC blocks, ratio 0.75) as a "
            "residual over a pull-push prefill, PatchGAN with R1 and feature matching; "
            "objective lama; any size (multiple of 8)"
        ),
    ),
)

STRDIFFUSION32_NETWORKS = {
    "structure": {
        "class": "IRSDEUNet",
        "config": {"channels": 1, "width": 16, "depth": 3, "blocks": 2, "attention_from": 1},
    },
    "texture": {
        "class": "IRSDEUNet",
        "config": {
            "channels": 3,
            "width": 16,
            "depth": 3,
            "blocks": 2,
            "attention_from": 1,
            "guide_channels": 1,
        },
    },
    "discriminator": {
        "class": "TimeDiscriminator",
        "config": {"in_channels": 4, "width": 12, "time_dim": 128},
    },
}
"""StrDiffusion's three networks at 32x32 (see ``networks.irsde_unet``, ``.time_discriminator``)."""
