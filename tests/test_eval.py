"""The evaluation commands on the tiny corpus with the shipped models: reports are written and their
figures are consistent with their definitions."""

import json
import subprocess
import sys

import pytest


def _soundsift(*args):
    proc = subprocess.run([sys.executable, "-m", "cli", *args], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return proc


@pytest.mark.slow
def test_eval_encoders_writes_a_consistent_report(tiny_corpus, tmp_path):
    out = tmp_path / "enc"
    proc = _soundsift("eval", "encoders", "--data", str(tiny_corpus), "--split", "test", "--out", str(out), "--quiet")
    result = json.loads((out / "encoders.json").read_text())
    assert "zero_shot_acc_seen" in proc.stdout and (out / "encoders.md").exists()
    assert result["mixtures"] == 6 and result["clips"] >= 6
    rates = [v for k, v in result.items() if k.endswith(("acc_seen", "acc_unseen", "R@1", "R@5", "f1", "fpr"))]
    assert rates and all(0.0 <= v <= 1.0 for v in rates)
    assert result["audio_to_text_R@5"] >= result["audio_to_text_R@1"]
    # the shipped encoder recognises FluidR3 renderings far above chance (1/27)
    assert result["zero_shot_acc_seen"] > 0.3
    # the shipped encoder matches scenes by pooled embeddings plus its sync tower
    assert {"video_to_audio_R@1_pooled", "video_to_audio_R@1_sync_only"} <= set(result)
    if "object_video_to_audio_R@1" in result:  # a clip-level hit is also a class-level hit
        assert result["object_video_to_audio_class_R@1"] >= result["object_video_to_audio_R@1"]


@pytest.mark.slow
def test_eval_separation_reports_model_next_to_its_bounds(tiny_corpus, tmp_path):
    out = tmp_path / "sep"
    _soundsift("eval", "separation", "--data", str(tiny_corpus), "--split", "test", "--limit", "2",
               "--out", str(out), "--quiet")
    result = json.loads((out / "separation.json").read_text())
    assert (out / "separation.md").exists() and (out / "spectrograms.png").stat().st_size > 10_000
    overall = result["overall"]
    assert overall["count"] >= 2 and set(result["by_sources"]) <= {"2", "3", "4"}
    # the ideal ratio mask bounds a mask model from above; the mixture scores 0 dB improvement
    assert overall["si_sdri_oracle"] > overall["si_sdri_text"] and overall["si_sdri_oracle"] > 5
    assert overall["si_sdri_text"] > 0  # the shipped model improves on the mixture
    assert all(overall[k] == overall[k] for k in ("bss_sdr", "bss_sir", "bss_sar", "oracle_bss_sdr"))  # museval ran
    assert result["absent_level_db_median"] < -10  # prompts for absent classes come out quiet
    assert 0 <= result["absent_similar_level_share_above_-25db"] <= 1
    assert result["absent_similar_level_db_median"] == result["absent_similar_level_db_median"]  # measured
    if overall["click_count"]:  # every click is also tried on its object made silent
        assert result["silent_click_level_db_median"] == result["silent_click_level_db_median"]
        assert 0 <= result["silent_click_level_share_above_-25db"] <= 1


def test_calibrate_predicts_sharpened_levels_and_stores_its_choice(tiny_corpus, tmp_path):
    """The gate-sharpness tool's shortcut (levels at any k from those at k = 1) matches a real run at
    k = 3, and the tool writes one of its candidates into the model's config."""
    import shutil

    import numpy as np

    from recipes.separation.calibrate import SHARPNESS, gate_levels, main, presence_auc, sharpened
    from separation import Separator
    from separation.configuration import SeparatorConfig

    model = tmp_path / "separator"
    shutil.copytree("separation/pretrained/separator-small", model)
    separator = Separator.from_pretrained(model)
    present_p, absent = gate_levels(separator, tiny_corpus, "test", limit=3, progress=False)
    _, absent3 = gate_levels(separator, tiny_corpus, "test", limit=3, progress=False, sharpness=3.0)
    assert len(present_p) >= 3 and absent.shape == absent3.shape and absent.shape[1] == 2
    np.testing.assert_allclose(absent3[:, 0], absent[:, 0])  # presence is reported at k = 1 either way
    audible = absent3[:, 1] > -80  # below that the output is numerically silent; levels there are noise
    np.testing.assert_allclose(sharpened(absent, 3.0)[audible], absent3[audible, 1], atol=0.2)
    assert 0.0 <= presence_auc(present_p, absent) <= 1.0
    assert presence_auc(np.array([0.9, 0.8]), np.array([[0.1, -40.0], [0.85, -9.0]])) == 0.75
    before = (model / "config.json").read_bytes()
    main([str(model), "--out", str(tmp_path / "calibrated"), "--data", str(tiny_corpus), "--split", "test", "--limit", "3"])
    assert (model / "config.json").read_bytes() == before  # the model itself is never edited
    calibrated = SeparatorConfig.load(tmp_path / "calibrated")
    assert calibrated.presence_sharpness in SHARPNESS and "presence_sharpness" in calibrated.lineage["calibrated"]
    assert (tmp_path / "calibrated" / "model.safetensors").read_bytes() == (model / "model.safetensors").read_bytes()


def test_long_inputs_join_clips_and_report_every_segment_length(tiny_corpus):
    from collections import Counter

    import numpy as np

    from recipes.data.build import read_manifest
    from recipes.separation.long_inputs import evaluate, long_inputs, to_markdown
    from separation import Separator

    rows = read_manifest(tiny_corpus, "test")
    cases = long_inputs(rows)
    assert cases and all(len(group) == 5 for group, _ in cases)  # 6 rows: one group of 5, none of 8
    group, label = cases[0]
    counts = Counter(s["label"] for r in group for s in r["sources"] if s["target"])
    assert counts[label] == max(counts.values())  # the first prompt is the class in most clips
    result = evaluate(Separator.from_pretrained(), tiny_corpus, "test", segments=(1.0, 8.0), progress=False)
    assert result["inputs"] == len(cases) and 15 < result["seconds_median"] < 25
    assert list(result["rows"]) == ["1 s", "8 s", "clip by clip"]
    assert all(np.isfinite(r["si_sdri_median"]) for r in result["rows"].values())
    assert to_markdown(result).count("\n| ") == 5  # header, rule and three rows
