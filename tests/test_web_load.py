"""The server on a real uvicorn on loopback: a bounded load test (50 concurrent requests to
telea: each answered with a result or 429, none lost, the server still up) and path traversal
with raw request lines that no client normalises."""

from __future__ import annotations

import io
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from PIL import Image  # noqa: E402
from web_support import LiveServer, box_hole, picture, png  # noqa: E402

from inpaintkit.web import ServerConfig, create_app  # noqa: E402

REQUESTS = 50


def test_fifty_concurrent_requests_each_get_a_result_or_429(tmp_path) -> None:
    image, hole = picture(48, 64), box_hole(48, 64)
    files = {"image": ("i.png", png(image)), "mask": ("m.png", png(hole))}
    app = create_app(ServerConfig(results_dir=tmp_path, workers=2, max_queue=8))

    def one(i: int) -> tuple[str, float]:
        started = time.monotonic()
        with httpx.Client(base_url=url, timeout=120) as client:
            r = client.post("/api/v1/inpaint", files=files, data={"method": "telea", "seed": i})
            if r.status_code == 429:
                assert int(r.headers["retry-after"]) >= 1
                return "refused", time.monotonic() - started
            assert r.status_code == 200, r.text
            job_id = r.json()["id"]
            while (job := client.get(f"/api/v1/jobs/{job_id}").json())["status"] not in (
                "done",
                "failed",
                "cancelled",
            ):
                time.sleep(0.02)
            assert job["status"] == "done", job
            out = np.asarray(Image.open(io.BytesIO(client.get(job["result_urls"][0]).content)))
            assert np.array_equal(out[~hole], image[~hole])
            return "done", time.monotonic() - started

    with LiveServer(app) as url:
        began = time.monotonic()
        with ThreadPoolExecutor(REQUESTS) as pool:
            outcomes = list(pool.map(one, range(REQUESTS)))
        wall = time.monotonic() - began
        with httpx.Client(base_url=url, timeout=60) as client:
            stats = client.get("/api/v1/info").json()["queue"]
            after = client.post("/api/v1/inpaint", files=files, data={"method": "telea"})
            assert after.status_code == 200  # still up and accepting
    done = sum(kind == "done" for kind, _ in outcomes)
    refused = sum(kind == "refused" for kind, _ in outcomes)
    assert done + refused == REQUESTS  # every request answered, none lost
    assert done >= 1 + 8  # at least what fits in the workers and the queue at once
    assert stats["accepted"] == done and stats["refused"] == refused and stats["failed"] == 0
    assert stats["done"] == done and stats["queued"] == stats["running"] == 0
    slowest = max(seconds for _, seconds in outcomes)
    print(
        f"\nload: {REQUESTS} concurrent telea requests in {wall:.2f} s: {done} done, "
        f"{refused} got 429; slowest answer {slowest:.2f} s"
    )


RAW_PATHS = [
    "/static/../../../pyproject.toml",
    "/static/../app.py",
    "/static/%2e%2e/app.py",
    "/static/..%2fapp.py",
    "/static/..%5capp.py",
    "/static//etc/passwd",
    "/api/v1/results/../../pyproject.toml",
    "/api/v1/results/0123456789abcdef0123456789abcdef/../../../pyproject.toml",
    "/api/v1/results/0123456789abcdef0123456789abcdef/..%2f..%2fpyproject.toml",
    "/study/x/../../pyproject.toml",
]


def test_no_path_traversal_with_raw_request_lines(tmp_path) -> None:
    app = create_app(ServerConfig(results_dir=tmp_path))
    with LiveServer(app) as url:
        host, port = url.removeprefix("http://").split(":")
        for path in RAW_PATHS:
            with socket.create_connection((host, int(port)), timeout=10) as sock:
                sock.sendall(
                    f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
                )
                data = b""
                while chunk := sock.recv(65536):
                    data += chunk
            status = int(data.split(b" ", 2)[1])
            assert status in (400, 404), (path, data[:200])
            assert b"[project]" not in data and b"create_app" not in data and b"root:" not in data
