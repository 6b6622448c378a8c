# Set-up is part of every target: a fresh Debian machine needs only `make run` or `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
# The last six are real recordings the tests ingest (100 MB; make real-data installs the rest).
DEBS := ffmpeg fluidsynth fluid-soundfont-gm timgm6mb-soundfont musescore-general-soundfont-small csound-soundfont espeak-ng fonts-noto-color-emoji fonts-symbola tuxpaint-stamps-default chromium chromium-driver asterisk-core-sounds-en-wav asterisk-core-sounds-it-wav hydrogen-data qabcs-data bucklespring-data avldrums.lv2-soundfont

.PHONY: setup debs run test examples real-data

setup: debs $(STAMP)

# torch 2.13.0: on these machines pip takes the CPU build lying on disk (pip's find-links), a 2.4 GB venv
# in all; elsewhere PyPI's CUDA build (8 GB, its CUDA libraries installed one at a time below, so that pip
# does not hold all their wheels at once). pip's wheel cache is off and apt's .deb cache emptied: a CI
# machine once ran out of disk installing the CUDA build.
export PIP_NO_CACHE_DIR := 1
NEED_GB := 4
TORCH := torch==2.13.0
TORCH_SET := $(TORCH) torchaudio==2.11.1 torchvision==0.28.0
RAY := ray>=2.40,<3

debs:
	@dpkg -s $(DEBS) >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(DEBS) && apt-get clean; }

# torch, torchaudio and torchvision go in first as a set that works on CPU here (see README, Set-up).
$(STAMP): pyproject.toml
	if [ ! -x $(PY) ]; then \
		free=$$(df -Pk . | awk 'NR==2 {print int($$4 / 1048576)}'); [ "$$free" -ge $(NEED_GB) ] || \
			echo "warning: $$free GB free here; a fresh .venv needs about $(NEED_GB) GB (9 GB with a CUDA torch), the install may run out of disk" >&2; \
		python3 -m venv $(VENV); fi
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --no-deps '$(TORCH)'
	$(PY) -c "import importlib.metadata as m; print('\n'.join(r for r in m.requires('torch') if 'extra ==' not in r))" | \
		while read -r req; do $(PY) -m pip install -q "$$req" || exit 1; done
	$(PY) -m pip install -q $(TORCH_SET)
	$(PY) -m pip install -q -e '.[test]'
	@# Ray (batch separation) on its own: it needs protobuf >= 3.20.3, and descript-audiotools still pins
	@# protobuf < 3.20 for the tensorboard writer of its training helpers, which nothing here imports
	@# (DAC's modules run on the newer protobuf: tests). In one install pip would refuse the pair.
	$(PY) -m pip install -q '$(RAY)'
	@# beside the CPU torch, torchaudio's ops libraries (built for the CUDA torch) cannot load: removed
	$(PY) -c "import soundsift.cpu_torch as c; c.main()"
	touch $(STAMP)

# The main job: separate a shipped example by a text prompt with the shipped model; prints the stems.
run: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift separate examples/test/test-000001/mixture.flac --text "a woman speaking" -o separated --force

# Tests marked slow run only with ALL=1 (as CI does: .ci/run); the rest take about 3 minutes on 2 cores, in two
# pytest-xdist workers (4 minutes in one). ALL=1 runs in one process: the slow tests time servers and subprocesses.
test: setup
	HF_HUB_OFFLINE=1 $(PY) -m pytest -q $(if $(ALL),,-m "not slow" -n 2)

examples: setup
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift data build --preset examples --out examples --seed 2026 --force

# Real recordings (about 0.7 GB of Debian packages, see recipes/data/real_sources.py), ingested and mixed into
# data/real: clips split by recording, train / real-only validation / real-test mixtures.
real-data: setup
	debs=$$($(PY) -c "from recipes.data.real_sources import PACKAGES; print(' '.join(PACKAGES))"); \
		dpkg -s $$debs >/dev/null 2>&1 || { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$debs && apt-get clean; }
	HF_HUB_OFFLINE=1 $(VENV)/bin/soundsift data real --out data/real --skip fillets-ng-data-cs --skip tuxpaint-stamps-default
