# Set-up is part of every target: a fresh Debian machine needs only `make run` or `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEBS := ffmpeg fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small csound-soundfont espeak-ng fonts-noto-color-emoji chromium chromium-driver

.PHONY: setup debs run test examples

setup: debs $(STAMP)

# A fresh install needs about 9 GB of disk (the venv is 8 GB, mostly torch's CUDA libraries; a CI
# machine once ran out of disk installing it): pip's wheel cache is off and apt's .deb cache emptied.
export PIP_NO_CACHE_DIR := 1
NEED_GB := 9
TORCH := torch==2.9.1

debs:
	@dpkg -s $(DEBS) >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS) && apt-get clean; }

# torch, torchaudio and torchvision go in first as the set that works on CPU here (see README, Set-up).
$(STAMP): pyproject.toml
	if [ ! -x $(PY) ]; then \
		free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(NEED_GB) ] || \
			echo "warning: $$free GB free here; a fresh .venv needs about $(NEED_GB) GB, the install may run out of disk" >&2; \
		python3 -m venv $(VENV); fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-deps '$(TORCH)'
	@# torch's requirements (its CUDA libraries, 4 GB) one at a time: pip would otherwise hold all their
	@# wheels in its temp folder at once, 2.3 GB more disk at the peak of a fresh install.
	$(PY) -c "import importlib.metadata as m; print('\n'.join(r for r in m.requires('torch') if 'extra ==' not in r))" | \
		while read -r req; do $(PY) -m pip install -q "$$req" || exit 1; done
	$(PY) -m pip install -q '$(TORCH)' 'torchaudio==2.9.*' 'torchvision==0.24.*'
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# The main job: separate a shipped example by a text prompt with the shipped model; prints the stems.
run: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift separate examples/test/test-000001/mixture.flac --text "a woman speaking" -o separated --force

test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q

examples: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift data build --preset examples --out examples --seed 2026 --force
