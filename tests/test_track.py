"""Click tracking: the clicked object's outline and its box over time, on scenes drawn by the data
engine's renderer (whose true boxes are known), and what `--save-mask` writes."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from recipes.separation.track_bench import pulsing_scene
from separation.click import track_click_file, window_boxes
from separation.track import SIZE_MIN_MATCH, box_iou, box_sides, object_box, track_frames, unlike_border
from soundsift.io import save_video

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "test" / "test-000001"


def _centre(truth: np.ndarray, frame: int) -> tuple[float, float]:
    """Where a user clicks an object: its true box's centre on that frame."""
    return (truth[frame, 0] + truth[frame, 2]) / 2, (truth[frame, 1] + truth[frame, 3]) / 2


@pytest.fixture(scope="module")
def scenes():
    return [pulsing_scene(np.random.default_rng(seed), 3, 4.0) for seed in range(3)]


def test_the_outline_fits_the_clicked_object_better_than_the_click_box(scenes):
    fixed, outlined = [], []
    for frames, boxes in scenes:
        mid = len(frames) // 2
        for truth in boxes:
            x, y = _centre(truth, mid)
            one = frames[mid: mid + 1]
            fixed.append(box_iou(window_boxes(one, 0, x, y, 0.25, track=False), truth[mid: mid + 1])[0])
            outlined.append(box_iou(window_boxes(one, 0, x, y, 0.25, track=True), truth[mid: mid + 1])[0])
    assert np.mean(outlined) > np.mean(fixed) + 0.05 and np.mean(outlined) > 0.65, (fixed, outlined)


def test_the_tracked_box_follows_a_moving_object(scenes):
    """Over the whole scene the box held at the click loses the drifting object; the tracked one keeps it."""
    held, tracked = [], []
    for frames, boxes in scenes:
        mid = len(frames) // 2
        for truth in boxes:
            x, y = _centre(truth, mid)
            held.append(box_iou(window_boxes(frames, mid, x, y, 0.25, track=False), truth).mean())
            tracked.append(box_iou(window_boxes(frames, mid, x, y, 0.25, track=True), truth).mean())
    assert np.mean(tracked) > np.mean(held) + 0.05, (held, tracked)


def test_a_file_is_tracked_alike_in_any_chunks_and_around_the_click(tmp_path, scenes):
    """Chunks and the ``around`` limit change which frames the tracker sees (it always sees a chunk's
    last), not where the box goes; each chunk is handed on once, outwards from the click."""
    frames, boxes = scenes[0]
    path = save_video(tmp_path / "scene.mp4", frames, 10.0)
    truth = boxes[1]
    mid = len(frames) // 2
    click = (mid / 10, float(truth[mid, [0, 2]].mean()), float(truth[mid, [1, 3]].mean()))
    seen = []
    whole = track_click_file(path, click, chunk_seconds=10.0)
    chunked = track_click_file(path, click, chunk_seconds=0.7, each=lambda a, f, b: seen.append((a, len(f), len(b))))
    near = track_click_file(path, click, around=1.0)
    assert len(whole.boxes) == len(frames) and whole.first_frame + whole.index == mid
    starts = [a for a, _, _ in seen]  # the clicked chunk, then those after and before it (two threads)
    assert starts[0] == 14 and sorted(starts) == [0, 7, 14, 21, 28, 35] and all(n == m for _, n, m in seen)
    assert [a for a in starts if a > 14] == [21, 28, 35] and [a for a in starts if a < 14] == [7, 0]
    assert sum(n for _, n, _ in seen) == len(frames) and chunked.first_frame == 0
    assert abs(box_iou(chunked.boxes, truth).mean() - box_iou(whole.boxes, truth).mean()) < 0.1
    assert near.first_frame == mid - 10 and len(near.boxes) == 21
    assert abs(box_iou(near.boxes, truth[mid - 10: mid + 11]).mean()
               - box_iou(whole.boxes[mid - 10: mid + 11], truth[mid - 10: mid + 11]).mean()) < 0.1
    assert near.box_at(click[0] + 2.0) is None and near.box_at(click[0]) is not None
    assert box_iou(whole.boxes, truth).mean() > 0.4


def test_the_tracked_box_grows_and_shrinks_with_the_pulsing_object(scenes):
    """The renderer sizes each object by its sound's level; the tracked box's side follows the true side
    (the size the separator reads a click's level from), and every frame of these clean scenes is sized."""
    for frames, boxes in scenes[:2]:
        mid = len(frames) // 2
        for truth in boxes:
            x, y = _centre(truth, mid)
            box = object_box(frames[mid].transpose(1, 2, 0), x, y, 0.25)
            found, fit = track_frames(frames, mid, box, sized=True)
            assert np.corrcoef(box_sides(found), box_sides(truth))[0, 1] > 0.9
            assert fit[mid] == 1.0 and np.mean(fit >= SIZE_MIN_MATCH) > 0.9


def test_a_thin_object_grabcut_misses_is_boxed_by_what_differs_from_the_border():
    """On a gradient background, a thin bar inside the click box: the box is the bar's, not the click box;
    a click on plain background keeps the click box."""
    yy = np.linspace(0, 1, 224)[:, None, None]
    frame = (np.array([40, 90, 160]) * (1 - yy) + np.array([200, 180, 60]) * yy).repeat(224, 1).astype(np.uint8)
    frame[100:110, 90:130] = (250, 20, 20)
    assert unlike_border(frame, (82, 77, 138, 133), 110, 105) == (90.0, 100.0, 130.0, 110.0)
    assert unlike_border(frame, (10, 10, 66, 66), 38, 38) == (10, 10, 66, 66)


@pytest.mark.slow  # over 8 s: CI runs it (make test ALL=1)
def test_save_mask_writes_the_track_and_a_mask_video(tmp_path):
    row = next(json.loads(line) for line in (ROOT / "examples" / "manifest.jsonl").open()
               if json.loads(line)["id"] == EXAMPLE.name)
    truth = np.asarray(row["sources"][0]["boxes"], np.float32)
    x0, y0, x1, y1 = truth[30]
    click = f"3:{(x0 + x1) / 2:g}:{(y0 + y1) / 2:g}"
    out = tmp_path / "sep"
    proc = subprocess.run([sys.executable, "-m", "cli", "separate", EXAMPLE / "scene.mp4", "--click", click,
                           "--save-mask", "-o", out], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    stem = Path(proc.stdout.split()[0])
    track = json.loads(stem.with_suffix(".track.json").read_text())
    boxes = np.asarray(track["boxes"], np.float32)
    assert track["clicked_frame"] == 30 and len(boxes) == len(truth)
    assert box_iou(boxes, truth).mean() > 0.4
    # the mask video: one grey frame per box, white inside the box and black outside
    mask = stem.with_suffix(".mask.mkv")
    h, w = track["frame_size"]
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", mask, "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, h, w)
    assert len(frames) == len(boxes)
    bx0, by0, bx1, by1 = boxes[30].round().astype(int)
    assert frames[30, by0 + 2: by1 - 2, bx0 + 2: bx1 - 2].min() == 255
    assert frames[30].mean() == pytest.approx(255 * (bx1 - bx0) * (by1 - by0) / (h * w), rel=0.1)


def test_save_mask_without_a_click_is_refused(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "cli", "separate", EXAMPLE / "mixture.flac", "--text", "a piano",
                           "--save-mask", "-o", tmp_path / "sep"], capture_output=True, text=True)
    assert proc.returncode == 1 and len(proc.stderr.strip().splitlines()) == 1 and "--save-mask" in proc.stderr
    assert not (tmp_path / "sep").exists()


@pytest.mark.slow  # two fresh processes load the shipped models
def test_click_cost_bench_times_a_click_and_a_text_prompt_on_a_looped_scene():
    """The benchmark behind the click-cost figure runs end to end and prints one row per format."""
    proc = subprocess.run([sys.executable, "-m", "recipes.separation.click_cost", "--minutes", "0.25", "--formats", "224"],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    row = proc.stdout.strip().splitlines()[-1]
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[0].startswith("0.25 min, 224x224")
    text, click = float(cells[1].rstrip(" s")), float(cells[2].rstrip(" s"))
    assert text > 0 and click > 0 and float(cells[3].rstrip("x")) > 1  # a click does a text prompt's work and tracks too
    assert cells[4] == "–"  # 15 s: no halfway click 5 minutes in


@pytest.mark.slow  # tracks a looped scene three times
def test_click_long_bench_reads_timing_near_the_click_only_when_windowed():
    """The benchmark behind the timing window: the looped scene, a click tracked through the whole video
    and one read 5 s either side, each row with its time and the violin's SI-SDRi near and far."""
    proc = subprocess.run([sys.executable, "-m", "recipes.separation.click_long", "--minutes", "0.75",
                           "--windows", "none", "5"], capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [[c.strip() for c in line.strip("|").split("|")] for line in proc.stdout.splitlines()
            if line.startswith("| whole") or line.startswith("| ±")]
    assert [r[0] for r in rows] == ["whole video", "whole video", "±5 s", "±5 s"]
    for r in rows:
        assert float(r[2].rstrip(" s")) > 0 and float(r[4]) > 3  # the violin is found, near the click at least


def test_a_mask_video_of_a_windowed_track_starts_with_the_video(tmp_path):
    """A track that starts later than the video (a click read only around it) is written black before
    its first frame, so frame i of the mask is frame i of the video."""
    from separation.click import ClickTrack

    boxes = np.tile(np.array([[10, 20, 30, 40]], np.float32), (4, 1))
    track = ClickTrack(10.0, (48, 64), (96, 128), 1, boxes, first_frame=3)
    track.write_mask(tmp_path / "m.mkv")
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", tmp_path / "m.mkv", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, 48, 64)
    assert len(frames) == 7 and frames[:3].max() == 0
    assert frames[3:, 22:38, 12:28].min() == 255 and frames[3:, :18].max() == 0
    assert track.record()["first_frame"] == 3 and track.box_at(0.1) is None and track.box_at(0.5) is not None
