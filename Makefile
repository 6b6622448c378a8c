# Set-up is part of every target: a fresh Debian machine needs only `make run` or `make test`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBS := ffmpeg fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small csound-soundfont espeak-ng fonts-noto-color-emoji chromium chromium-driver

.PHONY: setup debs run test examples

setup: debs $(STAMP)

debs:
	@dpkg -s $(DEBS) >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS); }

# torch, torchaudio and torchvision go in first as the set that works on CPU here (see README, Set-up).
$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.9.1
	$(PY) -m pip install -q torch==2.9.1 'torchaudio==2.9.*' 'torchvision==0.24.*'
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The main job: separate a shipped example by a text prompt with the shipped model; prints the stems.
run: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift separate examples/test/test-000001/mixture.flac --text "a woman speaking" -o separated --force

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

examples: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift data build --preset examples --out examples --seed 2026 --force
