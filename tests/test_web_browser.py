"""The page in a real browser: Playwright (PyPI) driving Debian's chromium, headless.

Never `playwright install` (it downloads a browser; these machines are offline): the tests
launch /usr/bin/chromium. Where it is missing they skip, except in CI (``CI`` set; .ci/run
installs chromium with apt), where they fail. Set INPAINTKIT_SCREENSHOT=docs/webapp.png to
write the README's screenshot.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pytest

sync_api = pytest.importorskip("playwright.sync_api")
pytest.importorskip("uvicorn")

from PIL import Image  # noqa: E402
from web_support import LiveServer  # noqa: E402

from inpaintkit.bench import BenchConfig, run_bench  # noqa: E402
from inpaintkit.web import ServerConfig, create_app  # noqa: E402
from inpaintkit.web.study.build import create_study  # noqa: E402

CHROMIUM = Path("/usr/bin/chromium")
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "images" / "horse.png"


@pytest.fixture(scope="module")
def browser():  # noqa: ANN201
    if not CHROMIUM.exists():
        reason = f"Debian's chromium is not installed ({CHROMIUM}); apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run installs it)")
        pytest.skip(reason)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):  # noqa: ANN201
    root = tmp_path_factory.mktemp("web")
    bench = root / "bench"
    run_bench(
        BenchConfig(
            methods="telea,navier-stokes",
            out=bench,
            masks="wide",
            data="emoji-test-64",
            n=2,
            seed=0,
            size=16,
        ),
        report=False,
    )
    study = create_study(bench, ["telea", "navier-stokes"], root / "study", study_id="demo")
    app = create_app(ServerConfig(results_dir=root / "results", studies=(study.folder,)))
    with LiveServer(app) as url:
        yield url, study


def hole_pixels(page) -> int:  # noqa: ANN001
    return page.evaluate("window.inpaintkit.editor.holePixels()")


def test_paint_run_undo_and_upload_a_mask(browser, server, tmp_path) -> None:
    url, _ = server
    page = browser.new_page(viewport={"width": 1200, "height": 820})
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(url)
    page.wait_for_selector("#method option[value=telea]", state="attached")
    assert page.input_value("#method") == "auto"  # the default: chosen by the picture's size
    assert page.locator("#compare-methods input[value=auto]").count() == 0
    page.set_input_files("#image-file", str(EXAMPLE))
    page.wait_for_function("window.inpaintkit.editor.loaded")
    assert page.evaluate("[window.inpaintkit.editor.width, window.inpaintkit.editor.height]") == [
        64,
        64,
    ]
    page.keyboard.press("]")  # 24 -> 30 px
    assert page.evaluate("window.inpaintkit.editor.size") == 30
    box = page.locator("#mask-canvas").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.45)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.55, steps=12)
    page.mouse.up()
    painted = hole_pixels(page)
    assert 0.15 * 64 * 64 < painted < 0.6 * 64 * 64  # a 30 px wide stroke across 40% of it
    page.select_option("#method", "telea")
    page.click("#compare summary")
    page.check("#compare-methods input[value=navier-stokes]")
    page.click("#run")
    page.wait_for_function(
        "() => [...document.querySelectorAll('#gallery img.result')]"
        ".filter(i => i.complete && i.naturalWidth === 64).length === 2",
        timeout=60_000,
    )
    assert page.locator("#comparison-row img").count() == 2  # telea and navier-stokes side by side
    card = page.locator("#gallery .card", has_text="telea")
    result_url = card.locator("img.result").get_attribute("src")
    result = np.asarray(Image.open(io.BytesIO(page.request.get(url + result_url).body())))
    base = result_url.rsplit("/", 1)[0]
    given = np.asarray(Image.open(io.BytesIO(page.request.get(url + base + "/input.png").body())))
    hole = np.asarray(Image.open(io.BytesIO(page.request.get(url + base + "/hole.png").body())))
    assert int((hole > 127).sum()) == painted  # the hole sent is the hole painted
    assert np.array_equal(result[hole <= 127], given[hole <= 127])
    shot = Path(os.environ.get("INPAINTKIT_SCREENSHOT") or tmp_path / "webapp.png")
    page.screenshot(path=str(shot), full_page=True)
    Image.open(shot).convert("RGB").quantize(128).save(shot, optimize=True)  # small for docs/
    assert shot.stat().st_size < 200_000

    page.click("#undo")
    assert hole_pixels(page) == 0
    page.keyboard.press("Control+Shift+Z")  # redo
    assert hole_pixels(page) == painted
    page.click("#undo")
    mask = np.zeros((64, 64), np.uint8)
    mask[10:30, 20:44] = 255
    Image.fromarray(mask).save(tmp_path / "mask.png")
    page.set_input_files("#mask-file", str(tmp_path / "mask.png"))
    page.wait_for_function("window.inpaintkit.editor.holePixels() === 480")
    page.click("#undo")  # the upload is undoable too
    assert hole_pixels(page) == 0
    assert errors == []
    page.close()


def test_vote_on_a_study_page_and_find_the_votes_in_the_results(browser, server) -> None:
    url, study = server
    method_of = {q[f"fill_{k}"]: q[k] for q in study.questions for k in "ab"}
    page = browser.new_page()
    page.goto(f"{url}/study/demo")
    clicks = 0
    while True:
        page.wait_for_function(
            "() => !document.getElementById('done').hidden || "
            "(window.study.current && !window.study.busy && "
            "!document.getElementById('showing').hidden)"
        )
        if page.is_visible("#done"):
            break
        index = page.evaluate("window.study.current.index")
        left = page.get_attribute("#left img", "src").rsplit("/", 1)[1].removesuffix(".png")
        page.click("#left" if method_of[left] == "telea" else "#right")  # always telea
        clicks += 1
        page.wait_for_function(f"window.study.answered.has({index})")
    assert clicks == 2 * len(study.questions) == 4
    assert "your votes count" in page.inner_text("#done-text")
    page.goto(f"{url}/study/demo/results")
    page.wait_for_selector("#table tbody tr")
    cells = page.locator("#table tbody tr td").all_inner_texts()
    assert cells[:6] == ["telea", "navier-stokes", "4", "4", "0", "100.0%"]
    assert "4 votes from 1 participant(s); 1 counted" in page.inner_text("#summary")
    votes = study.votes()
    assert len(votes) == 4 and {v["chosen"] for v in votes} == {"telea"}
    page.close()
