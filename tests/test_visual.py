"""A click's timing (separation/visual.py): the object's crops, its sync sequence, the separator's
timing input and the click examples it learns from."""

import numpy as np
import pytest
import torch

from recipes.separation.track_bench import pulsing_scene
from separation.configuration import SeparatorConfig
from separation.modeling import SeparatorNet
from separation.visual import click_timing, crop_side, object_crops


@pytest.fixture(scope="module")
def encoder():
    from encoders import PEAVEncoder

    return PEAVEncoder.from_pretrained()


def test_crops_follow_the_box_centre_at_one_size():
    frames = torch.zeros(3, 3, 100, 120, dtype=torch.uint8)
    boxes = np.array([[10, 20, 30, 40], [50, 30, 66, 46], [90, 60, 110, 80]], np.float32)
    for t, (x0, y0, x1, y1) in enumerate(boxes.astype(int)):
        frames[t, 0, y0:y1, x0:x1] = 255  # a red square in each frame's box
    crops = object_crops(frames, boxes, out=32)
    assert crops.shape == (3, 3, 32, 32) and crop_side(boxes) == pytest.approx(20 * 1.3)
    red = crops[:, 0].float() / 255
    assert (red[:, 12:20, 12:20] > 0.9).all()  # the object sits in the middle of every crop
    assert red[:, :2].max() < 0.1 and red[:, :, :2].max() < 0.1  # with a margin around it
    # the 16-px box is drawn smaller than the 20-px ones in a crop of one size: it fills less of it
    assert red[1].mean() < red[0].mean() - 0.05


def test_a_net_without_timing_is_unchanged_by_a_zero_start_and_refuses_a_track():
    cfg = SeparatorConfig.tiny()
    cfg.visual_dim = 8
    net = SeparatorNet(cfg).eval()
    mix, query, track = torch.randn(2, 16000), torch.randn(2, 64), torch.randn(2, 8, 10)
    with torch.no_grad():
        plain, timed = net(mix, query), net(mix, query, visual=track)
        assert torch.equal(plain, timed)  # the timing input starts at zero
        torch.nn.init.normal_(net.visual.weight)
        assert (net(mix, query, visual=track) - plain).abs().max() > 1e-3
        assert torch.equal(net(mix, query, visual=torch.zeros_like(track)), plain)  # no click, no input
        with pytest.raises(ValueError, match="visual_dim"):
            SeparatorNet(SeparatorConfig.tiny())(mix, query, visual=track)


def test_a_clicked_objects_timing_matches_its_own_sound(encoder):
    """On drawn scenes whose objects pulse with their own sound, the clicked object's sync sequence
    (tracked from one click) correlates best with its own source among the scene's sources."""
    from encoders.towers import sync_similarity

    hits, total = 0, 0
    for seed in range(3):
        rng = np.random.default_rng(seed)
        frames, boxes, waves = pulsing_scene(rng, 2, 4.0, with_audio=True)
        audio = [encoder.sync_audio(torch.from_numpy(w)[None], 16000)[0] for w in waves]
        for j, truth in enumerate(boxes):
            mid = len(frames) // 2
            click = (mid / 10.0, (truth[mid, 0] + truth[mid, 2]) / 2, (truth[mid, 1] + truth[mid, 3]) / 2)
            track = click_timing(encoder, (frames, 10.0), click, 0.25, 4.0)
            assert track.shape == (encoder.backend.model.config.sync_dim, 40)
            hits += int(sync_similarity([track.T], audio)[0].argmax() == j)
            total += 1
    assert hits >= total - 1, (hits, total)
