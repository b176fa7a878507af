# Two entry points (README Quickstart): `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q

.PHONY: install dev demo test lint format clean chromium

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install torch==2.13.0
	$(PIP) install -e .
	touch $@

$(VENV)/.dev: $(VENV)/.installed
	$(PIP) install -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.dev

# Inpaint the bundled example images with the embedded default model; results and grids in out/:
# RePaint at the paper's setting (2410 network evaluations), then the fast DDNM sampler (230),
# then a photo with the photo default (method auto; docs/photos.md).
# --overwrite: a rerun replaces the files of the previous demo run (and only those).
demo: install
	$(VENV)/bin/inpaintkit inpaint examples/images/*.png --mask-kind half --resize --seed 0 --out out/demo --overwrite
	$(VENV)/bin/inpaintkit inpaint examples/images/*.png --mask-kind narrow --method ddnm --resize --seed 0 --out out/demo-narrow --overwrite
	$(VENV)/bin/inpaintkit inpaint examples/photos/coffee.jpg --mask examples/photos/coffee_hole.png --out out/demo-photo --overwrite
	@echo "demo results and grids are in out/demo, out/demo-narrow and out/demo-photo"

# The browser tests drive Debian's chromium (never `playwright install`: it downloads a browser);
# installed with apt when missing. Without apt they skip, except in CI (.ci/run), where they fail.
chromium:
	@test -x /usr/bin/chromium || ! command -v apt-get >/dev/null || { \
		S=$$([ "$$(id -u)" = 0 ] || echo sudo); $$S apt-get update -qq || true; \
		DEBIAN_FRONTEND=noninteractive $$S apt-get install -y -qq chromium; }

test: dev chromium
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/pytest -q

lint: dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf out .pytest_cache .ruff_cache
