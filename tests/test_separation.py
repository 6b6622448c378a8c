import math

import numpy as np
import pytest
import torch

from encoders import PEAVConfig, PEAVEncoder, PEAVModel
from encoders.api import NativeBackend
from separation.losses import separation_loss
from separation import Separator, build_prompts, parse_span
from separation.apply import apply_separator, span_track
from separation.click import click_window
from separation.configuration import SeparatorConfig
from separation.modeling import SeparatorNet
from separation.prompts import SPEECH_PARTS, names_a_voice_by_sex, text_parts
from soundsift.errors import SoundSiftError


@pytest.fixture(scope="module")
def tiny_encoder():
    torch.manual_seed(0)
    return PEAVEncoder(NativeBackend(PEAVModel(PEAVConfig.tiny())))


@pytest.fixture(scope="module")
def tiny_separator(tiny_encoder):
    torch.manual_seed(0)
    return Separator(SeparatorNet(SeparatorConfig.tiny()), tiny_encoder, name="tiny")


def chord(seconds=2.0, rate=16000, channels=1):
    t = torch.arange(int(seconds * rate)) / rate
    x = 0.3 * torch.sin(2 * math.pi * 330 * t) + 0.2 * torch.sin(2 * math.pi * 1250 * t)
    return torch.stack([x * (1 - 0.4 * c) for c in range(channels)])


def constant_mask_net(value: float) -> SeparatorNet:
    net = SeparatorNet(SeparatorConfig.tiny()).eval()
    with torch.no_grad():
        net.head.weight.zero_()
        net.head.bias.fill_(value)
        net.presence[-1].weight.zero_()
        net.presence[-1].bias.fill_(30.0)  # gate fully open: the mask alone decides
    return net


@pytest.mark.parametrize("seconds", [0.7, 3.3, 9.1])
def test_chunked_inference_crossfades_exactly(seconds):
    wave = chord(seconds, channels=2)
    query = torch.randn(1, 64)
    full = apply_separator(constant_mask_net(20.0), wave, query, segment=1.0)  # mask = 1: identity
    assert full.shape == (1, 2, wave.shape[-1])
    assert torch.allclose(full[0], wave, atol=1e-4)
    none = apply_separator(constant_mask_net(-20.0), wave, query, segment=1.0)  # mask = 0: silence
    assert none.abs().max() < 1e-6


def test_several_prompts_never_exceed_the_mixture():
    wave = chord(2.0)
    out = apply_separator(constant_mask_net(20.0), wave, torch.randn(3, 64), segment=1.0)
    assert out.shape == (3, 1, wave.shape[-1])
    assert torch.allclose(out.sum(0), wave, atol=1e-4)  # three full masks are scaled to share it


@pytest.mark.parametrize("text, parts", [
    ("a person speaking", SPEECH_PARTS), ("speech", SPEECH_PARTS), ("People talking", SPEECH_PARTS),
    ("a man speaking", ()), ("a woman talking", ()), ("speech and music", ()), ("someone talking on the phone", ()),
    ("a violin", ()), ("a chorus of voices", ()), ("a dog barking | a cat", ("a dog barking", "a cat")),
    ("a dog | speech | a dog", ("a dog",) + SPEECH_PARTS)])
def test_text_parts_unite_listed_sounds_and_speech_of_either_sex(text, parts):
    assert text_parts(text) == parts


@pytest.mark.parametrize("text, expected", [("a man speaking", True), ("A female voice", True), ("a guy's voice", True),
                                            ("speech", False), ("a man", False), ("a woman playing the violin", False)])
def test_prompts_for_one_sex_of_voice_are_told_apart(text, expected):
    assert names_a_voice_by_sex(text) is expected


def test_a_union_with_an_empty_side_is_refused():
    with pytest.raises(SoundSiftError, match="empty part"):
        build_prompts(text="a dog |")


def test_a_union_stem_is_its_parts_stems_summed_and_stems_still_sum_to_the_input(tiny_separator):
    wave = chord(3.0, channels=2)
    union = tiny_separator.separate(wave, 16000, text="a dog | a cat")
    apart = tiny_separator.separate(wave, 16000, text=["a dog", "a cat"])  # the two share the mixture
    assert union.names == ["a-dog-a-cat", "residual"]
    assert torch.allclose(union.targets[0], apart.targets[0] + apart.targets[1], atol=1e-5)
    assert union.presence[0] == pytest.approx(max(apart.presence), abs=1e-3)  # there where either part is
    # beside another prompt, the union is one stem among them and all of them still sum to the input
    both = tiny_separator.separate(wave, 16000, text=["a dog | a cat", "a piano"])
    assert both.names == ["a-dog-a-cat", "a-piano", "residual"]
    assert torch.allclose(sum(both.targets) + both.residual, wave, atol=1e-5)
    # prompts embedded once for many inputs (batches) give the same stems
    prepared = tiny_separator.prepare(build_prompts(text=["a dog | a cat", "a piano"]))
    assert prepared[0].embedding.shape[0] == 2 and prepared[1].embedding.shape[0] == 1
    again = tiny_separator.separate(wave, 16000, prompts=prepared)
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(again.targets, both.targets))


def test_span_track_marks_frames():
    track = span_track([("+", 0.4, 0.8), ("-", 1.0, 1.2)], 32000, 16000)
    assert track.shape == (2, 50)
    assert track[0, 10:20].all() and track[0].sum() == 10 and track[1, 25:30].all() and track[1].sum() == 5
    assert parse_span("+1.0:3.5") == ("+", 1.0, 3.5) and parse_span("-4:6") == ("-", 4.0, 6.0)
    for bad in ("1:2", "+a:b", "+1", "*1:2"):
        with pytest.raises(SoundSiftError):
            parse_span(bad)


def test_separate_keeps_rate_channels_and_sums_to_input(tiny_separator):
    wave = chord(1.5, rate=44100, channels=2)
    res = tiny_separator.separate(wave, 44100, text=["a violin", "a man speaking"], spans=[("+", 0.2, 1.0)])
    assert res.sample_rate == 44100 and len(res.targets) == 2 and res.prompts == ["a violin", "a man speaking"]
    for t in res.targets + [res.residual]:
        assert t.shape == wave.shape
    assert torch.allclose(sum(res.targets) + res.residual, wave, atol=1e-5)
    assert len(res.presence) == 2 and all(0.0 <= p <= 1.0 for p in res.presence)
    by_audio = tiny_separator.separate(wave, 44100, audio_query=(chord(1.0), 16000))
    assert by_audio.prompts == ["audio-query"]
    by_span = tiny_separator.separate(wave, 44100, spans=[("+", 0.1, 0.9)])
    assert by_span.prompts == ["span-query"]
    frames = torch.randint(0, 255, (15, 3, 60, 80), dtype=torch.uint8)  # 1.5 s at 10 fps
    by_click = tiny_separator.separate(wave, 44100, video=(frames, 10), click=[(0.5, 10, 10), (1.4, 70, 50)],
                                       text="a violin")
    assert by_click.prompts == ["a violin", "click-0.5s-10-10", "click-1.4s-70-50"] and len(by_click.targets) == 3


def test_click_window_boxes_the_clicked_point():
    frames = torch.zeros(50, 3, 120, 200, dtype=torch.uint8)  # 5 s at 10 fps
    window, masks = click_window(frames, 10.0, (4.9, 190.0, 5.0))
    n = int(round(SeparatorConfig().click_window_seconds * 10))
    assert window.shape == (n, 3, 120, 200) and masks.shape == (n, 120, 200)  # clamped to the end
    assert torch.equal(window, frames[-n:])
    assert masks[0, 5, 190] == 1 and masks[0, 100, 20] == 0
    side = int(masks[0].sum(0).max())  # the box's height: a quarter of the shorter side (clipped at the top)
    assert 15 <= side <= 30
    with pytest.raises(SoundSiftError, match="outside the 200x120 frame"):
        click_window(frames, 10.0, (1.0, 200.0, 5.0))
    with pytest.raises(SoundSiftError, match="outside the video"):
        click_window(frames, 10.0, (5.5, 10.0, 5.0))


@pytest.mark.parametrize("kwargs,match", [
    (dict(wave=torch.zeros(1, 16000), text="a violin"), "silent"),
    (dict(wave=torch.full((1, 16000), float("nan")), text="a violin"), "NaN"),
    (dict(wave=torch.zeros(1, 0), text="a violin"), "with samples"),
    (dict(wave=chord(0.05), text="a violin"), "ms long"),
    (dict(wave=chord(1.0, channels=2).T, text="a violin"), "channels, samples"),
    (dict(wave=chord(1.0), text=""), "empty"),
    (dict(wave=chord(1.0)), "no prompt"),
    (dict(wave=chord(1.0), text="a violin", spans=[("+", 0.5, 3.0)]), "outside"),
    (dict(wave=chord(1.0), spans=[("-", 0.1, 0.5)]), "no prompt"),
    (dict(wave=chord(1.0), click=(0.5, 1, 1)), "needs the video"),
])
def test_bad_input_is_refused(tiny_separator, kwargs, match):
    wave = kwargs.pop("wave")
    with pytest.raises(SoundSiftError, match=match):
        tiny_separator.separate(wave, 16000, **kwargs)


def test_loss_rewards_better_estimates_and_silence_for_absent_targets():
    torch.manual_seed(0)
    target = torch.randn(2, 8000)
    mixture = target + torch.randn(2, 8000)
    active = torch.tensor([True, False])
    good = separation_loss(target + 0.01 * torch.randn(2, 8000), target, mixture, active)
    bad = separation_loss(mixture, target, mixture, active)
    assert good[0] < bad[0] - 20  # present target: closer estimate, far lower loss
    quiet = separation_loss(0.01 * mixture, target, mixture, active)
    assert quiet[1] < bad[1] - 2.5  # absent target: a quiet output is rewarded (weighted floor: -3 dB)
    assert good[0] >= -30.1  # the threshold caps what a near-perfect estimate earns


def test_save_load_round_trip(tmp_path):
    torch.manual_seed(1)
    net = SeparatorNet(SeparatorConfig.tiny())
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    folder = net.save_pretrained(tmp_path / "sep")
    again = SeparatorNet.from_pretrained(folder)
    wave, query = chord(1.0), torch.randn(1, 64)
    assert torch.allclose(net.eval()(wave, query), again(wave, query), atol=1e-6)


def test_presence_gate_silences_the_output_when_closed():
    torch.manual_seed(0)
    net = SeparatorNet(SeparatorConfig.tiny()).eval()
    wave, query = chord(1.0), torch.randn(1, 64)
    with torch.no_grad():
        net.presence[-1].bias.fill_(20.0)
        open_out = net(wave, query)
        net.presence[-1].bias.fill_(-20.0)
        closed, logit = net(wave, query, return_presence=True)
    assert logit.item() < -10
    level = 10 * torch.log10(closed.pow(2).sum() / open_out.pow(2).sum())
    assert level < -60  # dB below the ungated output
    chunked, presence = apply_separator(net, chord(3.0), query, segment=1.0, return_presence=True)
    assert presence.shape == (1,) and presence.item() < 1e-4 and chunked.abs().max() < 1e-4


def test_gate_sharpness_keeps_the_half_point_and_pushes_away_from_it():
    net = SeparatorNet(SeparatorConfig.tiny()).eval()
    logits = torch.tensor([-2.0, -0.5, 0.0, 0.5, 2.0])
    soft = net.gate(logits)
    net.config.presence_sharpness = 3.0
    sharp = net.gate(logits)
    assert torch.allclose(sharp[2], torch.tensor(0.5))
    assert (sharp[:2] < soft[:2]).all() and (sharp[3:] > soft[3:]).all()
    wave, query = chord(1.0), torch.randn(1, 64)
    with torch.no_grad():
        net.presence[-1].weight.zero_()
        net.presence[-1].bias.fill_(-1.0)  # a prompt the gate finds unlikely: quieter when sharpened
        quiet = apply_separator(net, wave, query)
        net.config.presence_sharpness = 1.0
        plain = apply_separator(net, wave, query)
    gain_db = 20 * torch.log10(quiet.abs().max() / plain.abs().max())
    assert torch.isclose(gain_db, 20 * torch.log10(torch.sigmoid(torch.tensor(-3.0)) / torch.sigmoid(torch.tensor(-1.0))), atol=0.05)


def test_click_queries_are_read_through_the_vocabulary(tiny_encoder):
    """A click's video embedding becomes the softmax-weighted mix of the vocabulary's text embeddings
    (temperature from the config); without a vocabulary it is used as it is."""
    config = SeparatorConfig.tiny()
    config.click_vocabulary = ["a violin", "a piano", "applause"]
    sep = Separator(SeparatorNet(config), tiny_encoder, name="tiny")
    texts = tiny_encoder.embed_query_text(config.click_vocabulary)
    torch.manual_seed(0)
    emb = torch.nn.functional.normalize(texts[1:2] + 0.3 * texts[2:3] + 0.2 * torch.randn(1, texts.shape[1]), dim=-1)
    query = sep.video_query(emb)
    weights = torch.softmax(emb @ texts.T / config.click_temperature, dim=-1)
    assert torch.allclose(query, torch.nn.functional.normalize(weights @ texts, dim=-1), atol=1e-5)
    assert not torch.allclose(query, emb, atol=1e-3)  # read through the texts, not passed on
    config.click_vocabulary = []
    assert torch.equal(Separator(SeparatorNet(config), tiny_encoder, name="tiny").video_query(emb), emb)


def test_click_queries_weigh_classes_by_their_presence_around_the_click(tiny_encoder):
    from separation.apply import presence_probs

    torch.manual_seed(0)
    config = SeparatorConfig.tiny()
    config.click_vocabulary = ["a violin", "a piano", "applause", "a trumpet"]
    CLICK_CONTEXT_SECONDS = config.click_context_seconds
    sep = Separator(SeparatorNet(config).eval(), tiny_encoder, name="tiny")
    with torch.no_grad():  # an untrained net ignores the query (FiLM starts at identity): make it listen
        for block in sep.net.blocks:
            block.film.weight.normal_(0, 0.5)
        sep.net.presence[-1].weight.mul_(20.0)
        sep.net.presence[-1].bias.zero_()
    texts = tiny_encoder.embed_query_text(config.click_vocabulary)
    emb = texts[1:2] + texts[2:3]  # an object the box alone cannot place
    # a mixture whose second half is noise: the gate is read over the stretch around the click only
    wave = torch.cat([chord(CLICK_CONTEXT_SECONDS)[0], 0.3 * torch.randn(int(CLICK_CONTEXT_SECONDS * 16000))])[None]
    late = presence_probs(sep.net, wave[:, -int(CLICK_CONTEXT_SECONDS * 16000):], texts)
    early = presence_probs(sep.net, wave[:, : int(CLICK_CONTEXT_SECONDS * 16000)], texts)
    assert late.shape == (4,) and not torch.allclose(late, early)
    _, reported = apply_separator(sep.net, wave[:, -int(CLICK_CONTEXT_SECONDS * 16000):], texts, return_presence=True)
    assert torch.allclose(late, reported, atol=1e-5)  # the same gate as separation reports
    plain = sep.video_query(emb)
    from soundsift.io import AudioTensor

    context = sep._click_context(AudioTensor(wave, 16000), 2 * CLICK_CONTEXT_SECONDS - 1, 2 * CLICK_CONTEXT_SECONDS)
    assert torch.equal(context, wave[:, -int(CLICK_CONTEXT_SECONDS * 16000):])  # the stretch around the click
    weighted = sep.video_query(emb, context)
    sims = (emb @ texts.T)[0]
    candidates = sims.topk(2).indices  # presence only re-ranks the classes the box looks most like
    logits = torch.full_like(sims, float("-inf"))
    logits[candidates] = sims[candidates] / 0.1 + 2.0 * torch.log(late[candidates])
    expected = torch.softmax(logits, -1) @ texts
    assert torch.allclose(weighted[0], torch.nn.functional.normalize(expected, dim=-1), atol=1e-5)
    assert not torch.allclose(weighted, plain, atol=1e-4)


def test_a_click_on_something_that_looks_like_no_sound_answers_silence(tiny_encoder):
    """Above ``click_silent_below`` a click is read as before; at or below it, its target is silence, its
    presence 0 and the residual the whole input."""
    config = SeparatorConfig.tiny()
    config.click_vocabulary = ["a violin", "a piano", "applause"]
    sep = Separator(SeparatorNet(config).eval(), tiny_encoder, name="tiny")
    rng = np.random.default_rng(0)
    frames = torch.from_numpy(rng.integers(0, 255, size=(20, 3, 64, 64), dtype=np.uint8))
    wave = chord(2.0)
    click = (1.0, 32, 32)
    window, masks = click_window(frames, 10.0, click, config.click_window_seconds, config.click_box_fraction)
    best = float((tiny_encoder.embed_video(window, 10.0, masks) @ sep.vocabulary_embeddings().T).max())
    config.click_silent_below = best - 0.01  # the box is like a sound: read as before
    heard = sep.separate(wave, 16000, video=(frames, 10.0), click=click)
    assert heard.targets[0].abs().max() > 0 and heard.presence[0] > 0
    config.click_silent_below = best + 0.01
    silent = sep.separate(wave, 16000, video=(frames, 10.0), click=click)
    assert torch.equal(silent.targets[0], torch.zeros_like(wave)) and silent.presence[0] == 0
    assert torch.allclose(silent.residual, wave, atol=1e-6)
    both = sep.separate(wave, 16000, text="a violin", video=(frames, 10.0), click=click)
    assert both.targets[0].abs().max() > 0 and both.targets[1].abs().max() == 0  # per prompt


def test_streamed_stems_equal_the_whole_ones_and_sum_to_the_input(tiny_separator, monkeypatch, tmp_path):
    import subprocess

    import soundfile as sf
    import torchaudio.functional as AF

    import soundsift.io as io
    import soundsift.resample as resampling
    from separation.stems import write_stems

    wave = chord(3.0, rate=44100, channels=2)
    texts = ["a violin", "a man speaking"]
    # reference: the whole signal at once, resampled whole, separated as one block
    ref16 = apply_separator(tiny_separator.net, AF.resample(wave, 44100, 16000), tiny_separator.encoder.embed_query_text(texts),
                            segment=0.5)
    ref = AF.resample(ref16, 16000, 44100)[..., : wave.shape[-1]]
    sf.write(tmp_path / "in.wav", wave.T.numpy(), 44100, subtype="FLOAT")
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(tmp_path / "in.wav"), "-c:a", "pcm_f32le", str(tmp_path / "in.mka")],
                   check=True)
    monkeypatch.setattr(resampling, "RESAMPLE_BLOCK_SECONDS", 0.1)  # 30 resampler blocks,
    monkeypatch.setattr(io, "BLOCK_FRAMES", 5000)  # 27 input blocks, 8 segments: none aligned with another
    for source in (wave, tmp_path / "in.wav", tmp_path / "in.mka"):  # in memory, read by libsndfile, by ffmpeg
        stream = tiny_separator.separate_stream(source, 44100, text=texts, segment=0.5, high_band=False)
        assert stream.prompts == texts and stream.presence is None  # known once the stream has ended
        written = write_stems(tmp_path / "track", stream, force=True)
        paths, energy = written.paths, written.energy
        assert [p.name for p in paths] == ["a-violin.wav", "a-man-speaking.wav", "residual.wav"]
        assert len(stream.presence) == 2 and written.clipped == [0, 0, 0]
        stems = [torch.from_numpy(sf.read(p, dtype="float32", always_2d=True)[0].T) for p in paths]
        for got, want in zip(stems, list(ref) + [wave - ref.sum(0)]):
            assert got.shape == wave.shape and torch.allclose(got, want, atol=1e-5)
        assert torch.allclose(sum(stems), wave, atol=1e-5)
        assert energy == pytest.approx([float(t.pow(2).sum()) for t in ref], rel=1e-4)
        assert stream.audio.scan().energy == pytest.approx(float(wave.pow(2).sum()), rel=1e-4)
    whole = tiny_separator.separate(wave, 44100, text=texts, segment=0.5, high_band=False)
    assert whole.presence == stream.presence and torch.allclose(whole.targets[1], ref[1], atol=1e-5)


def test_a_constant_mask_shares_out_the_band_above_the_net(tiny_encoder):
    import torchaudio.functional as AF

    from separation.apply import HIGH_BAND_POWER

    torch.manual_seed(0)
    wave = chord(2.0, rate=44100, channels=2) + 0.05 * torch.randn(2, 88200)  # noise: content up to 22 kHz
    sep = Separator(constant_mask_net(0.0), tiny_encoder, name="half")  # mask 0.5 everywhere
    low = AF.resample(AF.resample(wave, 44100, 16000), 16000, 44100)[..., : wave.shape[-1]]
    narrow = sep.separate(wave, 44100, text="a violin", high_band=False)
    full = sep.separate(wave, 44100, text="a violin")
    assert torch.allclose(narrow.targets[0], 0.5 * low, atol=1e-3)  # the band above stays in the residual
    inner = slice(100, -100)  # the resampler's filter is cut short at the very ends
    want = 0.5 * low + 0.5 ** HIGH_BAND_POWER * (wave - low)  # half below 8 kHz; its share's power above
    assert torch.allclose(full.targets[0][:, inner], want[:, inner], atol=1e-3)
    assert torch.allclose(full.targets[0] + full.residual, wave, atol=1e-6)


def test_the_band_above_the_net_streams_as_the_whole(tiny_separator, monkeypatch, tmp_path):
    import soundfile as sf

    import soundsift.io as io
    import soundsift.resample as resampling

    torch.manual_seed(0)
    wave = chord(3.0, rate=48000, channels=2) + 0.05 * torch.randn(2, 144000)
    texts = ["a violin", "a man speaking"]
    whole = tiny_separator.separate(wave, 48000, text=texts, segment=0.5)
    narrow = tiny_separator.separate(wave, 48000, text=texts, segment=0.5, high_band=False)
    assert not torch.allclose(whole.targets[0], narrow.targets[0], atol=1e-3)
    sf.write(tmp_path / "in.wav", wave.T.numpy(), 48000, subtype="FLOAT")
    monkeypatch.setattr(resampling, "RESAMPLE_BLOCK_SECONDS", 0.1)
    monkeypatch.setattr(io, "BLOCK_FRAMES", 5000)  # blocks, resampler blocks and segments never aligned
    stream = tiny_separator.separate_stream(tmp_path / "in.wav", text=texts, segment=0.5)
    blocks = list(stream.blocks())
    targets, residual = torch.cat([t for t, _ in blocks], -1), torch.cat([r for _, r in blocks], -1)
    assert torch.allclose(targets, torch.stack(whole.targets), atol=1e-5)
    assert torch.allclose(targets.sum(0) + residual, wave, atol=1e-5)


def test_a_16_khz_input_has_no_band_above_the_net(tiny_separator):
    wave = chord(2.0, channels=2)
    a = tiny_separator.separate(wave, 16000, text="a violin")
    b = tiny_separator.separate(wave, 16000, text="a violin", high_band=False)
    assert torch.equal(a.targets[0], b.targets[0])


def test_bench_separates_a_file_and_reports_its_format(tmp_path):
    from recipes.separation.bench import child, make_input

    path = make_input(tmp_path / "in.wav", 3.0, 22050, 2)
    row = child(str(path), None)
    assert row["seconds"] == pytest.approx(3.0) and (row["rate"], row["channels"]) == (22050, 2)
    assert row["x_realtime"] > 0 and row["peak_rss_mb"] > 100


def test_a_stream_that_ends_early_is_a_clear_error():
    from separation.apply import SegmentStream

    stream = SegmentStream(constant_mask_net(20.0), torch.randn(1, 64), 3 * 16000, segment=1.0)
    with pytest.raises(SoundSiftError, match="ended before"):
        list(stream.run([chord(1.0)]))  # a file that shrank between the check and the separation


def test_a_text_prompt_says_which_known_sound_it_is_read_as():
    from separation.prompts import UNKNOWN_BELOW, reading_note

    sep = Separator.from_pretrained()
    vocab = sep.net.config.click_vocabulary
    readings = sep.text_readings(["a violin", "drums", "a fiddle"])
    assert readings[0][0] == "a violin" and readings[0][1] > 0.999  # a known description is itself
    assert [r[0] for r in readings[1:]] == ["a drum kit", "a violin"]  # wordings of a known sound find it
    assert reading_note("A violin ", *readings[0], len(vocab)) is None
    assert reading_note("drums", *readings[1], len(vocab)) == "'drums' is read as 'a drum kit' (similarity 0.96)"
    notes = sep.reading_notes(build_prompts(["drums | a piano", "a violin"], None, None, None))
    assert notes == ["'drums' is read as 'a drum kit' (similarity 0.96)"]  # each part of a union apart
    unknown = reading_note("a dog barking", "bird song", UNKNOWN_BELOW - 0.01, len(vocab))
    assert unknown.startswith(f"'a dog barking' is like none of the {len(vocab)} sounds the model knows")
