"""The web API through FastAPI's TestClient: methods and schemas, a telea job end to end, the
option parser's 422, the upload and megapixel caps (413, decompression bombs included), the
bounded queue (429 + Retry-After), cancelling a diffusion job, event streams, path traversal,
and the results' expiry; the server answers every bad input with 4xx JSON and keeps serving."""

from __future__ import annotations

import io
import json
import time

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from fastapi.testclient import TestClient  # noqa: E402
from PIL import Image  # noqa: E402
from web_support import (  # noqa: E402
    Gate,
    bomb_png,
    box_hole,
    inpaint_request,
    picture,
    png,
    tiny_prior,
    wait_for,
)

import inpaintkit  # noqa: E402
from inpaintkit.methods import METHODS  # noqa: E402
from inpaintkit.methods.choice import Choice  # noqa: E402
from inpaintkit.web import ServerConfig, create_app, routes  # noqa: E402


class Clock:
    """A settable clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def without_inpaint32(monkeypatch):  # noqa: ANN001, ANN201
    """A package without the conditional model: inpaint-ddpm then has no model it can run."""
    import inpaintkit.models

    shipped = inpaintkit.models.embedded_models()
    monkeypatch.setattr(
        inpaintkit.models, "embedded_models", lambda: [n for n in shipped if n != "inpaint32"]
    )


@pytest.fixture
def make_client(tmp_path):  # noqa: ANN001, ANN201
    clients = []

    def make(**settings) -> TestClient:
        settings.setdefault("results_dir", tmp_path / f"results{len(clients)}")
        client = TestClient(create_app(ServerConfig(**settings)))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.__exit__(None, None, None)


def test_methods_list_schemas_and_models(make_client, without_inpaint32) -> None:
    body = make_client().get("/api/v1/methods").json()
    by_name = {m["name"]: m for m in body["methods"]}
    assert set(by_name) == {"auto", *METHODS} and body["methods"][0]["name"] == "auto"
    assert by_name["auto"]["options"] == [] and by_name["auto"]["available"]
    telea = by_name["telea"]
    assert telea["model_kind"] is None and telea["available"]
    radius = next(o for o in telea["options"] if o["name"] == "radius")
    assert (radius["type"], radius["default"], radius["min"]) == ("number", 3.0, 0)
    assert by_name["repaint"]["model_kind"] == "prior"
    steps = next(o for o in by_name["repaint"]["options"] if o["name"] == "steps")
    assert (steps["default"], steps["min"]) == (250, 1)
    # a method on a kind of model the server has none of is listed, unavailable, with why
    assert not by_name["inpaint-ddpm"]["available"]
    assert "conditional-diffusion" in by_name["inpaint-ddpm"]["why"]
    assert body["strategies"] == ["auto", "original", "resize", "crop"]
    assert "/api/v1/inpaint" in make_client().get("/openapi.json").json()["paths"]


def test_the_shipped_conditional_model_makes_inpaint_ddpm_available(make_client) -> None:
    by_name = {m["name"]: m for m in make_client().get("/api/v1/methods").json()["methods"]}
    assert by_name["inpaint-ddpm"]["available"] and by_name["inpaint-ddpm"]["why"] is None
    assert not by_name["realfill"]["available"] and "reference" in by_name["realfill"]["why"]


def test_telea_end_to_end_keeps_known_pixels_exactly(make_client) -> None:
    client = make_client()
    image, hole = picture(), box_hole()
    response = inpaint_request(client, image, hole, options=json.dumps({"radius": 5}), samples=2)
    assert response.status_code == 200, response.text
    job = wait_for(client, response.json()["id"])
    assert job["status"] == "done", job
    assert job["options"] == {"radius": 5.0} and len(job["result_urls"]) == 2
    for url in job["result_urls"]:
        result = client.get(url)
        assert result.headers["content-type"] == "image/png"
        out = np.asarray(Image.open(io.BytesIO(result.content)))
        assert out.shape == image.shape
        assert np.array_equal(out[~hole], image[~hole])  # known pixels: exactly the input's
        assert not np.array_equal(out[hole], image[hole])  # the hole was filled
    stored = np.asarray(Image.open(io.BytesIO(client.get(job["input_url"]).content)))
    assert np.array_equal(stored, image)
    saved_hole = np.asarray(Image.open(io.BytesIO(client.get(job["hole_url"]).content))) > 127
    assert np.array_equal(saved_hole, hole)
    attachment = client.get(job["result_urls"][0] + "?download=true")
    assert "attachment" in attachment.headers["content-disposition"]


def test_auto_picks_by_the_pictures_size_and_says_so(make_client, monkeypatch) -> None:
    """auto on an 80x72 picture is the photo default (pull-push while no photo network is
    embedded); a choice with a model and a feather runs that model (lama32 here) and blends
    inside the hole only; auto with options is a 422 on "options"."""
    client = make_client()
    image, hole = picture(72, 80), box_hole(72, 80)
    monkeypatch.setattr(routes, "embedded_models", lambda: ["emoji32-v2", "lama32"])
    response = inpaint_request(client, image, hole, method="auto")
    assert response.status_code == 200, response.text
    answer = response.json()
    assert answer["method"] == "pull-push" and "80x72 px: a photo" in answer["chosen"]
    job = wait_for(client, answer["id"])
    assert (job["status"], job["method"]) == ("done", "pull-push")
    assert job["chosen"].startswith("auto: 80x72 px: a photo")
    out = np.asarray(Image.open(io.BytesIO(client.get(job["result_urls"][0]).content)))
    assert np.array_equal(out[~hole], image[~hole]) and not np.array_equal(out[hole], image[hole])
    expected = inpaintkit.inpaint(image, hole, "pull-push", progress=False)
    assert np.array_equal(out, np.asarray(expected))
    lama = Choice("lama", "lama32", 3, "a test's choice")
    monkeypatch.setattr(routes, "choose_method", lambda *_: lama)
    job = wait_for(client, inpaint_request(client, image, hole, method="auto").json()["id"])
    assert (job["status"], job["method"]) == ("done", "lama")
    assert job["chosen"] == "auto: a test's choice"
    out = np.asarray(Image.open(io.BytesIO(client.get(job["result_urls"][0]).content)))
    expected = inpaintkit.inpaint(image, hole, "lama", model="lama32", feather=3, progress=False)
    assert np.array_equal(out, np.asarray(expected)) and np.array_equal(out[~hole], image[~hole])
    refused = inpaint_request(client, image, hole, method="auto", options='{"radius": 2}')
    assert refused.status_code == 422 and refused.json()["field"] == "options"


def test_bad_inputs_get_422_naming_the_problem_and_the_server_stays_up(
    make_client, without_inpaint32
) -> None:
    client = make_client()
    image, hole = picture(), box_hole()
    bad = inpaint_request(client, image, hole, options=json.dumps({"radius": -1}))
    assert bad.status_code == 422
    assert bad.json()["option"] == "radius" and "radius" in bad.json()["detail"]
    unknown = inpaint_request(client, image, hole, options=json.dumps({"radiuss": 2}))
    assert unknown.status_code == 422 and "radiuss" in unknown.json()["detail"]
    cases = {
        "options": inpaint_request(client, image, hole, options="{not json"),
        "method": inpaint_request(client, image, hole, method="no-such-method"),
        "samples": inpaint_request(client, image, hole, samples=0),
        "strategy": inpaint_request(client, image, hole, strategy="zoom"),
        "seed": inpaint_request(client, image, hole, seed="abc"),
    }
    for field, response in cases.items():
        assert response.status_code == 422, (field, response.text)
        assert response.json()["field"] == field, response.json()
    files = {"image": ("a.png", b"not an image at all"), "mask": ("m.png", png(hole))}
    garbage = client.post("/api/v1/inpaint", files=files, data={"method": "telea"})
    assert garbage.status_code == 422 and garbage.json()["field"] == "image"
    small = inpaint_request(client, image, hole[:-1])
    assert small.status_code == 422 and "32x23" in small.json()["detail"]
    missing = client.post(
        "/api/v1/inpaint", files={"image": ("a.png", png(image))}, data={"method": "telea"}
    )
    assert missing.status_code == 422 and missing.json()["field"] == "mask"
    # a model-less server refuses a method that needs a model it cannot have: 422, not queued
    assert inpaint_request(client, image, hole, method="inpaint-ddpm").status_code == 422
    ok = inpaint_request(client, image, hole)
    assert ok.status_code == 200 and wait_for(client, ok.json()["id"])["status"] == "done"


def test_upload_and_megapixel_caps_give_413(make_client) -> None:
    client = make_client(max_megapixels=1.0, max_upload_bytes=200_000)
    hole = box_hole()
    for width, height in ((2000, 1000), (60000, 60000)):  # ours, and PIL's own bomb check
        files = {"image": ("bomb.png", bomb_png(width, height)), "mask": ("m.png", png(hole))}
        response = client.post("/api/v1/inpaint", files=files, data={"method": "telea"})
        assert response.status_code == 413, response.text
        assert response.json()["field"] == "image"
    big = np.random.default_rng(1).integers(0, 256, (300, 300, 3), dtype=np.uint8)  # ~270 kB
    too_big = inpaint_request(client, big, np.zeros((300, 300), bool))
    assert too_big.status_code == 413 and "200000 bytes" in too_big.json()["detail"]
    huge_body = client.post(
        "/api/v1/inpaint", content=b"x" * 2_000_000, headers={"content-type": "multipart/form-data"}
    )
    assert huge_body.status_code == 413
    assert client.get("/api/v1/info").status_code == 200


def test_full_queue_gives_429_with_retry_after(make_client, monkeypatch) -> None:
    monkeypatch.setitem(METHODS, Gate.name, Gate)
    Gate.open.clear()
    client = make_client(workers=1, max_queue=2)
    image, hole = picture(), box_hole()
    try:
        ids = [inpaint_request(client, image, hole, method=Gate.name).json()["id"]]
        wait_for(client, ids[0], statuses=("running",))
        ids += [inpaint_request(client, image, hole, method=Gate.name).json()["id"] for _ in "ab"]
        refused = inpaint_request(client, image, hole, method=Gate.name)
        assert refused.status_code == 429
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["retry_after"] == int(refused.headers["retry-after"])
        # cancelling a queued job frees its place at once
        assert client.delete(f"/api/v1/jobs/{ids[2]}").json()["status"] == "cancelled"
        assert inpaint_request(client, image, hole, method=Gate.name).status_code == 200
    finally:
        Gate.open.set()
    assert wait_for(client, ids[0])["status"] == "done"
    assert client.get("/api/v1/info").json()["queue"]["refused"] == 1


def test_delete_cancels_a_running_diffusion_job(make_client) -> None:
    client = make_client(model=tiny_prior(), preview_interval_s=0.0)
    image, hole = picture(16, 16), box_hole(16, 16)
    response = inpaint_request(client, image, hole, method="repaint", strategy="original")
    job_id = response.json()["id"]
    running = wait_for(client, job_id, statuses=("running", "failed"))
    deadline = time.monotonic() + 60
    while running["progress"].get("nfe", 0) < 3 and time.monotonic() < deadline:
        assert running["status"] == "running", running
        running = client.get(f"/api/v1/jobs/{job_id}").json()
    # the default walk: 2410 network evaluations for the one 16x16 piece
    assert running["progress"]["total_nfe"] == 2410
    assert running["progress"]["eta_s"] > 0
    cancelled = client.delete(f"/api/v1/jobs/{job_id}")
    assert cancelled.status_code == 200 and cancelled.json()["cancel_requested"]
    job = wait_for(client, job_id, timeout=20)
    assert job["status"] == "cancelled" and job["result_urls"] == []
    assert job["progress"]["nfe"] < 2410
    assert client.delete(f"/api/v1/jobs/{job_id}").status_code == 409
    with client.stream(
        "GET", f"/api/v1/jobs/{job_id}", headers={"accept": "text/event-stream"}
    ) as s:
        assert '"status":"cancelled"' in "".join(s.iter_text())


def test_event_stream_reports_steps_and_previews(make_client) -> None:
    client = make_client(model=tiny_prior(), preview_interval_s=0.0)
    image, hole = picture(16, 16), box_hole(16, 16)
    options = json.dumps({"steps": 5, "jump_length": 1, "resamplings": 1})
    job_id = inpaint_request(client, image, hole, method="repaint", options=options).json()["id"]
    with client.stream(
        "GET", f"/api/v1/jobs/{job_id}", headers={"accept": "text/event-stream"}
    ) as s:
        assert s.headers["content-type"].startswith("text/event-stream")
        text = "".join(s.iter_text())
    events = [block.split("\n", 1) for block in text.strip().split("\n\n")]
    jobs = [json.loads(data[len("data: ") :]) for head, data in events if head == "event: job"]
    previews = [
        json.loads(data[len("data: ") :]) for head, data in events if head == "event: preview"
    ]
    assert jobs[-1]["status"] == "done" and len(jobs[-1]["result_urls"]) == 1
    assert jobs[-1]["progress"]["nfe"] == jobs[-1]["progress"]["total_nfe"] == 5
    assert previews and all(p["image"].startswith("data:image/png;base64,") for p in previews)


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/results/../../../etc/passwd",
        "/api/v1/results/%2e%2e/%2e%2e/etc/passwd",
        "/api/v1/results/..%2f..%2fetc%2fpasswd/x.png",
        "/api/v1/results/0123456789abcdef0123456789abcdef/..%2f..%2fpyproject.toml",
        "/api/v1/results/0123456789abcdef0123456789abcdef/%2e%2e%5cinput.png",
        "/static/../../../pyproject.toml",
        "/static/%2e%2e/%2e%2e/app.py",
        "/static/..%2fapp.py",
        "/api/v1/jobs/..%2f..%2fetc",
        "/api/v1/studies/x/images/..%2f..%2fstudy.json",
    ],
)
def test_no_path_traversal(make_client, path: str) -> None:
    client = make_client()
    response = client.get(path)
    assert response.status_code in (400, 404), (path, response.status_code)
    assert b"[project]" not in response.content and b"root:" not in response.content
    assert b"create_app" not in response.content


def test_results_expire_on_the_servers_clock(make_client) -> None:
    clock = Clock()
    client = make_client(clock=clock, results_max_age_s=60)
    job = wait_for(client, inpaint_request(client, picture(), box_hole()).json()["id"])
    url = job["result_urls"][0]
    assert client.get(url).status_code == 200
    clock.now += 59
    assert client.get(url).status_code == 200
    clock.now += 1
    gone = client.get(url)
    assert gone.status_code == 404 and "expired" in gone.json()["detail"]


def test_binding_elsewhere_than_loopback_warns() -> None:
    from inpaintkit.web import exposure_warning, is_loopback

    assert ServerConfig().host == "127.0.0.1"
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert exposure_warning("127.0.0.1") is None
    assert "0.0.0.0" in exposure_warning("0.0.0.0") and not is_loopback("192.168.1.5")


def test_serve_command_binds_loopback_by_default_and_warns_elsewhere(monkeypatch, tmp_path) -> None:
    import uvicorn
    from typer.testing import CliRunner

    from inpaintkit.cli import app as cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    runner = CliRunner()
    local = runner.invoke(cli, ["serve", "--results", str(tmp_path / "a")])
    assert local.exit_code == 0, local.output
    assert calls[-1][1]["host"] == "127.0.0.1" and calls[-1][1]["port"] == 8000
    assert "warning" not in local.output
    shared = runner.invoke(
        cli, ["serve", "--host", "0.0.0.0", "--port", "8123", "--results", str(tmp_path / "b")]
    )
    assert shared.exit_code == 0 and "warning: listening on 0.0.0.0" in shared.output
    assert calls[-1][1] == {"host": "0.0.0.0", "port": 8123, "log_level": "warning"}
    bad = runner.invoke(cli, ["serve", "--max-queue", "0"])
    assert bad.exit_code == 2 and len(calls) == 2
