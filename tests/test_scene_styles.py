"""Scenes of true pictures (recipes/data/pictures.py, restyle.py): real Tux Paint stamps, Noto and
Symbola glyphs, drawn over a real rendered corpus."""

import numpy as np
import pytest
import torch

from recipes.data import pictures, taxonomy
from recipes.data.build import read_manifest
from recipes.data.restyle import restyle
from recipes.data.scenes import render_scene, source_at
from soundsift.errors import SoundSiftError
from soundsift.io import load_audio, load_video


def test_every_picture_is_of_its_class_and_loads():
    for label in taxonomy.TARGET_LABELS:
        for style in pictures.STYLES:
            for split in ("train", "test"):
                for key in pictures.drawable(label, style, split):  # every picture, not one drawn at random
                    img = {"emoji": pictures.emoji_image, "stamps": pictures.stamp,
                           "outline": lambda k: pictures.outline(k, np.random.default_rng(0))}[style](key)
                    assert img.mode == "RGBA" and min(img.size) > 4
                    assert np.asarray(img)[..., 3].max() > 0  # something is drawn, not a blank
    # the legacy stand-ins are gone: a cello is drawn only as a cello, a harp not at all
    assert pictures.drawable("cello", "emoji") == [] and pictures.drawable("harp", "stamps") == []
    assert pictures.drawable("cello", "stamps") == ["hobbies/music/string/cello.png"]
    # Symbola lacks the newest emoji: no box-shaped "missing glyph" stands in for a flute
    assert pictures.drawable("flute", "outline") == [] and pictures.drawable("violin", "outline") == ["🎻"]


def test_stamp_splits_keep_test_pictures_apart():
    for label, files in pictures.STAMP_FILES.items():
        train, test = set(pictures.drawable(label, "stamps", "train")), set(pictures.drawable(label, "stamps", "test"))
        assert train | test == set(files)
        if len(files) >= 3:
            assert train and test and not train & test
    silent = pictures.silent_stamps()
    assert len(silent) > 100 and not set(silent) & {f for fs in pictures.STAMP_FILES.values() for f in fs}


def test_render_keeps_aspect_and_reports_distractors():
    rng = np.random.default_rng(1)
    t = np.linspace(0, 4, 4 * 16000)
    waves = [np.sin(2 * np.pi * 440 * t) * (t < 2), np.sin(2 * np.pi * 220 * t) * (t >= 2)]
    cello = pictures.picture("cello", "stamps", rng)
    bird = pictures.picture("bird song", "outline", rng)
    silent = [pictures.silent_object(rng) for _ in range(2)]
    frames, boxes = render_scene([(cello, waves[0]), (bird, waves[1])], 16000, 4.0, rng, distractors=silent,
                                 clutter=[pictures.silent_object(rng)], lighting=True)
    assert frames.shape == (40, 3, 224, 224) and len(boxes) == 4
    x0, y0, x1, y1 = boxes[0][0]
    h, w = y1 - y0, x1 - x0
    assert abs(h / w - cello.size[1] / cello.size[0]) < 0.15  # a tall cello stays tall
    # the object pulses with its sound (loud in the first half, silent after); a distractor does not
    area = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes[0]]
    assert np.mean(area[:15]) > 1.3 * np.mean(area[25:])
    still = [(b[2] - b[0]) * (b[3] - b[1]) for b in boxes[2]]
    assert max(still) - min(still) <= 0.1 * max(still)
    # objects draw over distractors: a click on the topmost object's centre selects it
    x0, y0, x1, y1 = boxes[1][0]
    assert source_at(boxes[:2], 0, (x0 + x1) / 2, (y0 + y1) / 2) in (0, 1)


@pytest.mark.slow
def test_restyle_draws_a_corpus(tiny_corpus, tmp_path):
    out = restyle(tiny_corpus, tmp_path / "stamps", "stamps", splits=("train", "test"), workers=1, progress=False)
    rows = read_manifest(out)
    assert rows and {r["style"] for r in rows} == {"stamps"}
    for row in rows[:3]:
        root = out.parent
        video = load_video(root / row["video"])
        mix, _ = load_audio(root / row["mixture"])
        src, _ = load_audio(tiny_corpus / row["mixture"])
        assert np.array_equal(mix.numpy(), src.numpy())  # the corpus' own sound
        drawn = [s for s in row["sources"] if s["boxes"] is not None]
        assert drawn and all(pictures.drawable(s["label"], "stamps", row["split"]) for s in drawn)
        for s in drawn:
            x0, y0, x1, y1 = s["boxes"][0]
            assert video.frames[0][:, y0:y1, x0:x1].float().std() > 10
        assert all(len(b) == video.frames.shape[0] for b in row["distractors"])
    with pytest.raises(SoundSiftError, match="already holds"):
        restyle(tiny_corpus, tmp_path / "stamps", "stamps", workers=1, progress=False)
    assert not (tmp_path / "stamps.part").exists()  # drawn aside, moved into place whole
    with pytest.raises(SoundSiftError, match="not a scenes folder"):
        restyle(tiny_corpus, tiny_corpus, "stamps", workers=1, force=True, progress=False)  # never a corpus
    with pytest.raises(SoundSiftError, match="held-out"):
        restyle(tiny_corpus, tmp_path / "outline", "outline", splits=("train",), workers=1, progress=False)


@pytest.mark.slow
def test_encoder_examples_include_silent_distractors(tiny_corpus, tmp_path):
    from recipes.encoders.data import EncoderExamples, collate

    out = restyle(tiny_corpus, tmp_path / "emoji", "emoji", splits=("train",), workers=1, progress=False).parent
    data = EncoderExamples(out, "train", video_only=True, train=False)
    silent = [i for i, (r, k) in enumerate(data.index) if k <= -2]
    assert silent, "the restyled scenes have distractors"
    item = data[silent[0]]
    r, k = data.index[silent[0]]
    assert item["silent"] and item["cls"] == -1 and item["frames"] is not None
    x0, y0, x1, y1 = data.rows[r]["distractors"][-2 - k][0]
    scale = data.video_size / 224
    assert 0 < item["masks"][0].sum() <= (x1 - x0 + 2) * (y1 - y0 + 2) * scale ** 2 + 4  # only its box
    batch = collate([data[i] for i in range(len(data))][:8] + [item])
    assert batch["silent"].tolist().count(True) >= 1 and len(batch["video_index"]) == 9


def test_encoder_examples_can_mask_objects_as_a_click_would(tiny_corpus):
    from recipes.encoders.data import EncoderExamples

    clicks = EncoderExamples(tiny_corpus, "train", video_only=True, train=False, click_box_prob=1.0)
    true = EncoderExamples(tiny_corpus, "train", video_only=True, train=False)
    i = next(i for i, (r, k) in enumerate(clicks.index) if k >= 0)
    held, moving = clicks[i]["masks"], true[i]["masks"]
    side = 0.25 * clicks.video_size  # the separator's click box: a quarter of the frame, held still
    assert torch.equal(held[0], held[-1]) and abs(held[0].sum().sqrt() - side) <= 2
    ys, xs = torch.nonzero(held[0], as_tuple=True)
    centre = (xs.float().mean(), ys.float().mean())
    ys, xs = torch.nonzero(moving[len(moving) // 2], as_tuple=True)
    x0, x1, y0, y1 = xs.min(), xs.max(), ys.min(), ys.max()
    assert x0 - side / 2 <= centre[0] <= x1 + side / 2 and y0 - side / 2 <= centre[1] <= y1 + side / 2  # on the object
