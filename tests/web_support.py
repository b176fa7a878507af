"""Helpers of the web tests (tests/test_web_*.py): PNG bytes, a decompression bomb, polling a
job, a tiny random prior, and a real uvicorn server on a free loopback port."""

from __future__ import annotations

import io
import socket
import struct
import threading
import time
import zlib
from dataclasses import dataclass

import numpy as np
import uvicorn
from PIL import Image

from inpaintkit.methods import ArrayInpainter
from inpaintkit.options import Options


def png(array: np.ndarray) -> bytes:
    """uint8 [H, W, 3] or bool [H, W] (white = True) as PNG bytes."""
    if array.dtype == bool:
        array = array.astype(np.uint8) * 255
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


def picture(height: int = 24, width: int = 32, seed: int = 0) -> np.ndarray:
    """A seeded random RGB picture."""
    return np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)


def box_hole(height: int = 24, width: int = 32) -> np.ndarray:
    """A hole in the middle third."""
    hole = np.zeros((height, width), bool)
    hole[height // 3 : 2 * height // 3, width // 3 : 2 * width // 3] = True
    return hole


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG header claiming ``width`` x ``height`` 1-bit pixels, with a few bytes of
    data: decoding it would need width * height / 8 bytes; its header costs nothing."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def inpaint_request(client, image: np.ndarray, hole: np.ndarray, method: str = "telea", **data):  # noqa: ANN001, ANN201
    """POST /api/v1/inpaint with PNG uploads; returns the response."""
    files = {"image": ("image.png", png(image)), "mask": ("mask.png", png(hole))}
    return client.post("/api/v1/inpaint", files=files, data={"method": method, **data})


def wait_for(client, job_id: str, statuses=("done", "failed", "cancelled"), timeout=30.0) -> dict:  # noqa: ANN001
    """Poll GET /api/v1/jobs/{id} until its status is one of ``statuses``."""
    deadline = time.monotonic() + timeout
    while True:
        job = client.get(f"/api/v1/jobs/{job_id}").json()
        if job["status"] in statuses or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def tiny_prior(seed: int = 3):  # noqa: ANN201
    """A tiny random 16x16 prior (tests/conftest.py's network) on a 1000-step process, so that
    RePaint's default walk (T=250, 2410 network evaluations) runs on it; fast on a CPU."""
    from conftest import make_tiny_unet

    from inpaintkit.models.model import DiffusionModel
    from inpaintkit.models.spec import DiffusionConfig

    unet = make_tiny_unet(size=16, out_channels=6, seed=seed)
    config = DiffusionConfig(num_train_timesteps=1000, learned_variance=True)
    return DiffusionModel(unet=unet, config=config, source="tiny-web")


@dataclass(frozen=True)
class GateOptions(Options):
    """No options."""


class Gate(ArrayInpainter):
    """A test method that waits until ``Gate.open`` is set, then fills with grey."""

    name = "test-gate"
    summary = "test-only: waits for its gate"
    Options = GateOptions
    open = threading.Event()

    def fill(self, image: np.ndarray, hole: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        Gate.open.wait(timeout=30)
        out = image.copy()
        out[hole] = 128
        return out


def free_port() -> socket.socket:
    """A socket bound to a free loopback port (handed to uvicorn: no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class LiveServer:
    """``with LiveServer(app) as url:`` runs ``app`` on uvicorn in a thread on loopback."""

    def __init__(self, app) -> None:  # noqa: ANN001
        self.app = app
        self.sock = free_port()
        config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_keep_alive=5)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True
        )

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        host, port = self.sock.getsockname()
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)
        self.sock.close()
