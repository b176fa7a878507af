"""Network classes (``nn.Module``) and their registry; no knowledge of checkpoints or methods."""

from .registry import (
    NETWORKS,
    build_network,
    build_unet,
    load_weights,
    network_classes,
    network_spec,
    register_network,
)

__all__ = [
    "NETWORKS",
    "build_network",
    "build_unet",
    "load_weights",
    "network_classes",
    "network_spec",
    "register_network",
]
