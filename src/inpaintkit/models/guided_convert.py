"""guided-diffusion UNet state dict -> diffusers ``UNet2DModel`` config and state dict.

DESIGN.md section 3 gives the released checkpoints' architecture and the key mapping (verified
there to max diff 5e-7). The architecture is read from the state dict itself: channel widths,
channel_mult, num_res_blocks, attention levels, learn_sigma (output channels), the class count,
resblock_updown and use_scale_shift_norm. What weights cannot tell (the image size, the
attention head width or count, the qkv layout) is passed in; :mod:`.guided` decides defaults.

Key mapping (guided -> diffusers): ``input_blocks.0.0`` -> ``conv_in``; ResBlock ``in_layers.0/2``
-> ``norm1/conv1``, ``emb_layers.1`` -> ``time_emb_proj``, ``out_layers.0/3`` -> ``norm2/conv2``,
``skip_connection`` -> ``conv_shortcut``; AttentionBlock ``norm`` -> ``group_norm``, ``qkv`` ->
``to_q/to_k/to_v`` (split PER HEAD in the legacy order), ``proj_out`` -> ``to_out.0``;
``time_embed.0/2`` -> ``time_embedding.linear_1/2``; ``label_emb`` -> ``class_embedding``;
``out.0/2`` -> ``conv_norm_out/conv_out``.
"""

from __future__ import annotations

import torch

from ..errors import InpaintkitError

RESBLOCK = {
    "in_layers.0": "norm1",
    "in_layers.2": "conv1",
    "emb_layers.1": "time_emb_proj",
    "out_layers.0": "norm2",
    "out_layers.3": "conv2",
    "skip_connection": "conv_shortcut",
}


def convert_guided_state_dict(
    state: dict[str, torch.Tensor],
    *,
    image_size: int | None = None,
    num_head_channels: int | None = None,
    num_heads: int | None = None,
    use_new_attention_order: bool = False,
) -> tuple[dict, dict[str, torch.Tensor]]:
    """(UNet2DModel config, diffusers state dict) for a guided-diffusion ``UNetModel`` state dict.

    The architecture is read from the weights. What they cannot tell must be given:
    image_size: the training size (recorded as ``sample_size``). num_head_channels: each
    attention layer has ``channels // num_head_channels`` heads; or num_heads: a fixed head
    count (guided-diffusion's ``num_head_channels=-1`` mode, also accepted here); giving both
    is an error, since guided-diffusion uses only one. use_new_attention_order:
    guided-diffusion's QKVAttention layout instead of the legacy per-head one [False].

    A wrong head width still loads (the weights have the same shapes) but gives wrong outputs
    (about 2% error), so it is never guessed. Exception: the released RePaint / OpenAI 256x256
    layout (:data:`RELEASED_256`: model_channels 256, channel_mult (1,1,2,2,4,4), attention at
    the three lowest levels, 2 res blocks) pins image_size 256 and 64-channel heads, the
    values those checkpoints were trained with. Otherwise a missing value is an InpaintkitError
    that lists the options to give and the head widths that fit.
    """
    if num_head_channels == -1:  # guided-diffusion's flag value for "use num_heads"
        num_head_channels = None
    if num_heads is not None and num_head_channels is not None:
        raise InpaintkitError(
            f"give num_head_channels ({num_head_channels}) or num_heads ({num_heads}), not "
            "both: a guided-diffusion model uses one of them (num_head_channels=-1 selects "
            "num_heads)"
        )
    if "input_blocks.0.0.weight" not in state:
        raise InpaintkitError(
            "not a guided-diffusion UNet state dict: no 'input_blocks.0.0.weight' "
            f"(first keys: {list(state)[:3]})"
        )
    if "output_blocks.0.0.in_layers.0.weight" not in state:
        raise InpaintkitError(
            "no 'output_blocks' ResBlocks: only guided-diffusion's UNetModel is supported "
            "(not the EncoderUNetModel classifier)"
        )
    try:
        return _convert(
            dict(state), image_size, num_head_channels, num_heads, use_new_attention_order
        )
    except KeyError as err:
        raise InpaintkitError(
            f"not a complete guided-diffusion UNet: missing weight {err}"
        ) from err


RELEASED_256 = {
    "block_out_channels": [256, 256, 512, 512, 1024, 1024],
    "attention": [False, False, False, True, True, True],
    "layers_per_block": 2,
}
"""The released 256x256 guided-diffusion layout (RePaint's celeba256/places256, OpenAI's
256x256_diffusion and _uncond; DESIGN.md section 3): image_size 256, num_head_channels 64."""


def _pinned(
    channels: list[int], attention: list[bool], num_res: int, image_size: int | None,
    num_head_channels: int | None, num_heads: int | None,
) -> tuple[int, int | None]:  # fmt: skip
    """(image_size, num_head_channels) given or pinned by a known layout; else a clear error."""
    released = channels == RELEASED_256["block_out_channels"] and (
        attention == RELEASED_256["attention"] and num_res == RELEASED_256["layers_per_block"]
    )
    heads_given = num_head_channels is not None or num_heads is not None
    if released:
        return image_size or 256, num_head_channels if heads_given else 64
    missing = [] if image_size is not None else ["image_size"]
    if not heads_given:
        missing.append("num_head_channels (or num_heads)")
    if missing:
        widths = sorted({c for c, a in zip(channels, attention, strict=True) if a} | {channels[-1]})
        fits = [d for d in (8, 16, 32, 64, 128, 256) if all(w % d == 0 for w in widths)]
        raise InpaintkitError(
            f"the weights do not tell {' and '.join(missing)} (a guided-diffusion UNet with "
            f"channels {channels}, attention widths {widths}, not the released 256x256 "
            "layout): give the training flags as model options, e.g. --model-option "
            "image_size=64 --model-option num_head_channels=32 (Python: load_model(path, "
            "image_size=64, num_head_channels=32)); options: image_size, num_head_channels, "
            f"num_heads, use_new_attention_order. Head widths that fit: {fits}. A wrong head "
            "width loads but gives wrong outputs, so it is not guessed."
        )
    return int(image_size), num_head_channels


def _convert(
    src: dict[str, torch.Tensor],
    image_size: int | None,
    num_head_channels: int | None,
    num_heads: int | None,
    order_new: bool,
) -> tuple[dict, dict[str, torch.Tensor]]:
    conv_in = src["input_blocks.0.0.weight"]
    if conv_in.ndim != 4:
        raise InpaintkitError(f"only 2-D UNets are supported (input conv is {conv_in.ndim - 2}-D)")
    in_channels = conv_in.shape[1]
    out_channels = src["out.2.weight"].shape[0]
    model_channels = src["time_embed.0.weight"].shape[1]
    if conv_in.shape[0] != model_channels:
        raise InpaintkitError(
            f"channel_mult[0] must be 1 (input conv has {conv_in.shape[0]} channels, "
            f"time embedding {model_channels}); UNet2DModel cannot express this"
        )

    inputs = _block_count(src, "input_blocks")
    outputs = _block_count(src, "output_blocks")
    # Output blocks show the level boundaries: the last block of each level but the lowest ends
    # with an upsampler (a conv Upsample or an up ResBlock).
    out_attn = [f"output_blocks.{k}.1.qkv.weight" in src for k in range(outputs)]
    up_kinds = [
        _resample_kind(src, f"output_blocks.{k}.{2 if a else 1}", "conv")
        for k, a in enumerate(out_attn)
    ]
    ups = [k for k, kind in enumerate(up_kinds) if kind]
    num_res = ups[0] if ups else outputs - 1
    levels = outputs // (num_res + 1)
    expected_ups = [m * (num_res + 1) + num_res for m in range(levels - 1)]
    if num_res < 1 or outputs != levels * (num_res + 1) or ups != expected_ups:
        raise InpaintkitError(
            f"unsupported block layout ({outputs} output blocks, upsamplers at {ups}); "
            "conv_resample=False (parameter-free resampling) is not supported either"
        )
    if inputs != outputs:
        raise InpaintkitError(
            f"{inputs} input blocks but {outputs} output blocks; expected equal counts "
            "(missing input block indices mean conv_resample=False, which is not supported)"
        )

    def first_in(level: int) -> int:
        return 1 + level * (num_res + 1)

    def first_out(level: int) -> int:
        return (levels - 1 - level) * (num_res + 1)

    channels, attention, down_kinds = [], [], []
    for level in range(levels):
        channels.append(src[f"input_blocks.{first_in(level)}.0.out_layers.3.weight"].shape[0])
        attn = {f"input_blocks.{first_in(level) + j}.1.qkv.weight" in src for j in range(num_res)}
        attn |= {out_attn[first_out(level) + i] for i in range(num_res + 1)}
        if len(attn) != 1:
            raise InpaintkitError(f"attention in only some blocks of level {level}: unsupported")
        attention.append(attn.pop())
        if level < levels - 1:
            down_kinds.append(
                _resample_kind(src, f"input_blocks.{first_in(level) + num_res}.0", "op")
            )
    # resblock_updown: up/down ResBlocks everywhere; else conv Downsample (op) / Upsample (conv)
    kinds = set(down_kinds) | {up_kinds[k] for k in ups}
    if kinds not in (set(), {"resnet"}, {"op", "conv"}):
        raise InpaintkitError(f"mixed or parameter-free down/upsampling {kinds}: unsupported")
    resblock_updown = kinds == {"resnet"}

    emb_out = src["input_blocks.1.0.emb_layers.1.weight"].shape[0]
    scale_shift = emb_out == 2 * channels[0]
    num_classes = src["label_emb.weight"].shape[0] if "label_emb.weight" in src else None

    image_size, num_head_channels = _pinned(
        channels, attention, num_res, image_size, num_head_channels, num_heads
    )
    # Heads: diffusers has one attention_head_dim for every attention layer (mid included).
    attn_channels = {c for c, a in zip(channels, attention, strict=True) if a} | {channels[-1]}
    if num_heads is not None:
        if num_heads < 1 or any(c % num_heads for c in attn_channels):
            raise InpaintkitError(
                f"num_heads={num_heads} does not divide the attention widths "
                f"{sorted(attn_channels)}"
            )
        if num_heads == 1:
            head_dim = None  # diffusers then uses one head of the block's full width
        elif len(attn_channels) == 1:
            head_dim = channels[-1] // num_heads
        else:
            raise InpaintkitError(
                f"num_heads={num_heads} at attention widths {sorted(attn_channels)} gives "
                "different head sizes per level, which UNet2DModel cannot express"
            )
    else:
        if num_head_channels < 1 or any(c % num_head_channels for c in attn_channels):
            raise InpaintkitError(
                f"num_head_channels={num_head_channels} does not divide the attention widths "
                f"{sorted(attn_channels)}; pass the num_head_channels (or num_heads) of training"
            )
        head_dim = num_head_channels

    def heads(ch: int) -> int:
        return ch // (head_dim or ch)

    down_plain = "ResnetDownsampleBlock2D" if resblock_updown else "DownBlock2D"
    up_plain = "ResnetUpsampleBlock2D" if resblock_updown else "UpBlock2D"
    config = {
        "sample_size": image_size,
        "in_channels": in_channels,
        "out_channels": out_channels,
        "center_input_sample": False,
        "time_embedding_type": "positional",
        "flip_sin_to_cos": True,
        "freq_shift": 0,
        "down_block_types": ["AttnDownBlock2D" if a else down_plain for a in attention],
        "up_block_types": ["AttnUpBlock2D" if a else up_plain for a in reversed(attention)],
        "block_out_channels": channels,
        "layers_per_block": num_res,
        "mid_block_scale_factor": 1,
        "downsample_padding": 1,
        "downsample_type": "resnet" if resblock_updown else "conv",
        "upsample_type": "resnet" if resblock_updown else "conv",
        "dropout": 0.0,
        "act_fn": "silu",
        "attention_head_dim": head_dim,
        "norm_num_groups": 32,
        "attn_norm_num_groups": 32,  # the mid block drops its attention norm with scale_shift else
        "norm_eps": 1e-5,
        "resnet_time_scale_shift": "scale_shift" if scale_shift else "default",
        "add_attention": True,
        "class_embed_type": None,
        "num_class_embeds": num_classes,
    }

    dst: dict[str, torch.Tensor] = {}
    _move(src, dst, "input_blocks.0.0", "conv_in")
    _move(src, dst, "time_embed.0", "time_embedding.linear_1")
    _move(src, dst, "time_embed.2", "time_embedding.linear_2")
    _move(src, dst, "label_emb", "class_embedding")
    _move(src, dst, "out.0", "conv_norm_out")
    _move(src, dst, "out.2", "conv_out")
    for level in range(levels):
        d = f"down_blocks.{level}"
        for j in range(num_res):
            g = f"input_blocks.{first_in(level) + j}"
            _move(src, dst, f"{g}.0", f"{d}.resnets.{j}", RESBLOCK)
            if attention[level]:
                _move_attention(
                    src, dst, f"{g}.1", f"{d}.attentions.{j}", heads(channels[level]), order_new
                )
        if level < levels - 1:
            g = f"input_blocks.{first_in(level) + num_res}.0"
            if resblock_updown:
                _move(src, dst, g, f"{d}.downsamplers.0", RESBLOCK)
            else:
                _move(src, dst, f"{g}.op", f"{d}.downsamplers.0.conv")
        u = f"up_blocks.{levels - 1 - level}"
        for i in range(num_res + 1):
            g = f"output_blocks.{first_out(level) + i}"
            _move(src, dst, f"{g}.0", f"{u}.resnets.{i}", RESBLOCK)
            if attention[level]:
                _move_attention(
                    src, dst, f"{g}.1", f"{u}.attentions.{i}", heads(channels[level]), order_new
                )
            if level > 0 and i == num_res:
                g = f"{g}.{2 if attention[level] else 1}"
                if resblock_updown:
                    _move(src, dst, g, f"{u}.upsamplers.0", RESBLOCK)
                else:
                    _move(src, dst, f"{g}.conv", f"{u}.upsamplers.0.conv")
    _move(src, dst, "middle_block.0", "mid_block.resnets.0", RESBLOCK)
    _move_attention(
        src, dst, "middle_block.1", "mid_block.attentions.0", heads(channels[-1]), order_new
    )
    _move(src, dst, "middle_block.2", "mid_block.resnets.1", RESBLOCK)
    if src:
        raise InpaintkitError(
            f"{len(src)} weights not understood as a guided-diffusion UNet: {list(src)[:3]}"
        )
    return config, dst


def _block_count(state: dict[str, torch.Tensor], name: str) -> int:
    """Number of ``name.<i>`` blocks; the indices must run 0..n-1 without gaps."""
    found = {int(k.split(".")[1]) for k in state if k.startswith(name + ".")}
    if found != set(range(len(found))):
        missing = sorted(set(range(max(found) + 1)) - found)
        raise InpaintkitError(
            f"{name} {missing} hold no weights: parameter-free resampling "
            "(conv_resample=False) or a truncated checkpoint; unsupported"
        )
    return len(found)


def _resample_kind(state: dict[str, torch.Tensor], prefix: str, conv_name: str) -> str | None:
    """'resnet' for an up/down ResBlock at ``prefix``, ``conv_name`` for a conv resampler."""
    if f"{prefix}.in_layers.0.weight" in state:
        return "resnet"
    if f"{prefix}.{conv_name}.weight" in state:
        return conv_name
    return None


def _move(
    src: dict[str, torch.Tensor],
    dst: dict[str, torch.Tensor],
    g: str,
    d: str,
    renames: dict[str, str] | None = None,
) -> None:
    """Move every ``g.<sub>.<param>`` key of ``src`` to ``d.<renamed sub>.<param>`` in ``dst``."""
    for key in [k for k in src if k.startswith(g + ".")]:
        sub, _, param = key[len(g) + 1 :].rpartition(".")
        sub = (renames or {}).get(sub, sub)
        dst[f"{d}.{sub}.{param}" if sub else f"{d}.{param}"] = src.pop(key)


def _move_attention(
    src: dict[str, torch.Tensor],
    dst: dict[str, torch.Tensor],
    g: str,
    d: str,
    heads: int,
    new_order: bool,
) -> None:
    """An AttentionBlock: 1x1 Conv1d qkv/proj_out -> Linear to_q/to_k/to_v/to_out.0."""
    _move(src, dst, f"{g}.norm", f"{d}.group_norm")
    for param in ("weight", "bias"):
        qkv = src.pop(f"{g}.qkv.{param}")
        if param == "weight":
            qkv = qkv[..., 0]  # [3C, C, 1] -> [3C, C]
        width = qkv.shape[0] // 3
        if new_order:  # QKVAttention: [q | k | v], each split into heads afterwards
            parts = qkv.reshape(3, width, *qkv.shape[1:]).unbind(0)
        else:  # QKVAttentionLegacy: per head [q_h | k_h | v_h]
            parts = qkv.reshape(heads, 3, width // heads, *qkv.shape[1:]).unbind(1)
        for name, part in zip(("to_q", "to_k", "to_v"), parts, strict=True):
            dst[f"{d}.{name}.{param}"] = part.reshape(width, *qkv.shape[1:]).contiguous()
        proj = src.pop(f"{g}.proj_out.{param}")
        dst[f"{d}.to_out.0.{param}"] = proj[..., 0] if param == "weight" else proj
