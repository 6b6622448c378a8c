import math
import shutil

import pytest
import torch

from encoders import PEAVConfig, PEAVEncoder, PEAVModel, sigmoid_contrastive_loss
from encoders.api import NativeBackend
from soundsift.errors import SoundSiftError


@pytest.fixture(scope="module")
def tiny_encoder():
    torch.manual_seed(0)
    return PEAVEncoder(NativeBackend(PEAVModel(PEAVConfig.tiny())))


def noise(seconds=1.0, rate=16000, channels=1, batch=None, seed=0):
    g = torch.Generator().manual_seed(seed)
    shape = (channels, int(seconds * rate)) if batch is None else (batch, channels, int(seconds * rate))
    return 0.1 * torch.randn(*shape, generator=g)


def test_sigmoid_loss_gives_negatives_gradient():
    torch.manual_seed(0)
    a = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1).requires_grad_()
    b = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    scale, bias = torch.tensor(math.log(10.0)), torch.tensor(-5.0)
    loss = sigmoid_contrastive_loss(a, b, scale, bias)
    loss.backward()
    # d loss / d a[0] must depend on the negatives b[1:], not only on the positive b[0]
    only_positive = torch.autograd.grad(
        sigmoid_contrastive_loss(a[:1], b[:1], scale, bias), a, allow_unused=False)[0][0]
    assert not torch.allclose(a.grad[0] * 4, only_positive * 1, atol=1e-4)
    # pulling a negative pair together raises the loss
    closer = b.clone()
    closer[1] = a[0].detach()
    assert sigmoid_contrastive_loss(a.detach(), closer, scale, bias) > loss.detach()
    # transformers' formulation (labels = eye) gives the negatives a constant, gradient-free term
    logits = (a @ b.T * scale.exp() + bias).detach().requires_grad_()
    buggy = -torch.nn.functional.logsigmoid(torch.eye(4) * logits).sum() / 4
    buggy.backward()
    assert torch.all(logits.grad[~torch.eye(4, dtype=bool)] == 0)


def test_embeddings_have_shared_size_and_unit_norm(tiny_encoder):
    d = tiny_encoder.embed_dim
    text = tiny_encoder.embed_text(["a violin", "a man speaking"])
    stereo = tiny_encoder.embed_audio(noise(channels=2, rate=44100), 44100)
    batch = tiny_encoder.embed_audio(noise(batch=3, channels=1, seconds=0.5), 16000)
    frames = torch.randint(0, 255, (12, 3, 64, 80), dtype=torch.uint8)
    masks = torch.zeros(12, 64, 80)
    masks[:, 10:30, 20:50] = 1
    video = tiny_encoder.embed_video(frames, 10, masks)
    video_b = tiny_encoder.embed_video(frames[None].repeat(2, 1, 1, 1, 1), 25)
    for emb, n in ((text, 2), (stereo, 1), (batch, 3), (video, 1), (video_b, 2)):
        assert emb.shape == (n, d)
        assert torch.allclose(emb.norm(dim=-1), torch.ones(n), atol=1e-5)
    assert not torch.allclose(video, tiny_encoder.embed_video(frames, 10))  # the mask matters


def test_long_audio_is_embedded_in_windows(tiny_encoder):
    emb = tiny_encoder.embed_audio(noise(seconds=23.0), 16000)
    assert emb.shape == (1, tiny_encoder.embed_dim) and torch.isfinite(emb).all()


@pytest.mark.parametrize("seconds", [23.0, 20.1, 4.0])  # a tail of 3 s, a tail too short to count, no whole window
def test_an_audio_file_is_embedded_a_window_at_a_time_as_if_whole(tiny_encoder, tmp_path, monkeypatch, seconds):
    import soundfile as sf

    import soundsift.io as io
    import soundsift.resample as resampling

    wave = noise(seconds=seconds, rate=44100, channels=2, seed=3)
    sf.write(tmp_path / "example.wav", wave.T.numpy(), 44100, subtype="FLOAT")
    whole = tiny_encoder.embed_audio(wave, 44100)
    monkeypatch.setattr(io, "BLOCK_FRAMES", 30000)  # blocks and resampler edges unrelated to the 10 s windows
    monkeypatch.setattr(resampling, "RESAMPLE_BLOCK_SECONDS", 1.3)
    streamed = tiny_encoder.embed_audio_file(io.AudioFile(tmp_path / "example.wav"))
    assert torch.allclose(streamed, whole, atol=1e-5)
    sf.write(tmp_path / "quiet.wav", (wave * 1e-6).T.numpy(), 44100, subtype="FLOAT")
    with pytest.raises(SoundSiftError, match="silent"):
        tiny_encoder.embed_audio_file(io.AudioFile(tmp_path / "quiet.wav"))


def test_frame_scores_and_spans(tiny_encoder):
    wave = noise(seconds=2.0)
    scores = tiny_encoder.frame_scores(wave, 16000, ["a violin", "drums"])
    assert scores.shape == (2, 50) and scores.min() >= 0 and scores.max() <= 1
    spans = tiny_encoder.spans(wave, 16000, "a violin", threshold=0.0)
    assert spans == [(0.0, 2.0)]
    assert tiny_encoder.spans(wave, 16000, "a violin", threshold=1.01) == []
    # 2.01 s fills a last, partial frame: the span still ends at the input's end, not past it.
    longer = noise(seconds=2.01)
    assert tiny_encoder.spans(longer, 16000, "a violin", threshold=0.0) == [(0.0, 2.01)]


@pytest.mark.parametrize("call,match", [
    (lambda e: e.embed_text([]), "empty"),
    (lambda e: e.embed_text(["a violin", "  "]), "empty"),
    (lambda e: e.embed_audio(torch.zeros(1, 16000), 16000), "silent"),
    (lambda e: e.embed_audio(noise(seconds=0.05), 16000), "too short"),
    (lambda e: e.embed_audio(torch.full((1, 16000), float("nan")), 16000), "NaN"),
    (lambda e: e.embed_video(torch.zeros(5, 64, 64, dtype=torch.uint8), 10), "frames must be"),
    (lambda e: e.embed_video(torch.zeros(5, 3, 64, 64, dtype=torch.uint8), 10, torch.ones(4, 64, 64)), "masks"),
    (lambda e: e.frame_scores(noise(), 16000, [""]), "empty"),
])
def test_bad_inputs_raise_clear_errors(tiny_encoder, call, match):
    with pytest.raises(SoundSiftError, match=match):
        call(tiny_encoder)


def test_text_anchoring_pulls_a_paraphrase_to_its_caption():
    """MiniLM (real, frozen) finds the caption a paraphrase means; the projection of that caption is
    what the prompt becomes (weight 1, sharp softmax), whatever the (random) projection does."""
    torch.manual_seed(0)
    model = PEAVModel(PEAVConfig.tiny()).eval()
    enc = PEAVEncoder(NativeBackend(model))
    captions = ["a violin", "a helicopter", "people clapping"]
    with torch.no_grad():
        direct = model.embed_text_features(model.text_features(captions))
    plain = enc.embed_text(["a violin being played softly"])
    model.config.text_anchors, model.config.anchor_weight, model.config.anchor_temperature = captions, 1.0, 0.01
    anchored = enc.embed_text(["a violin being played softly"])
    assert torch.allclose(anchored.norm(dim=-1), torch.ones(1), atol=1e-5)
    sims = (anchored @ direct.T)[0]
    assert int(sims.argmax()) == 0 and sims[0] > 0.95
    assert float((plain @ direct.T)[0, 0]) < sims[0]
    model.config.anchor_weight = 0.0
    assert torch.allclose(enc.embed_text(["a violin being played softly"]), plain, atol=1e-6)


def test_save_load_round_trip(tiny_encoder, tmp_path):
    folder = tiny_encoder.save_pretrained(tmp_path / "enc")
    assert (folder / "config.json").exists() and (folder / "model.safetensors").exists()
    assert (folder / "model.safetensors").stat().st_size < 5_000_000  # the frozen text tower is not saved
    again = PEAVEncoder.from_pretrained(folder)
    wave = noise(seed=3)
    assert torch.allclose(again.embed_audio(wave, 16000), tiny_encoder.embed_audio(wave, 16000), atol=1e-6)
    assert torch.allclose(again.embed_text(["a harp"]), tiny_encoder.embed_text(["a harp"]), atol=1e-6)
    with pytest.raises(SoundSiftError, match="not a model folder"):
        PEAVEncoder.from_pretrained(tmp_path)


def test_official_pe_audio_checkpoint_loads(tmp_path):
    """A transformers-format PE-A checkpoint (tiny, random) saved and loaded from a local folder."""
    from transformers import AutoTokenizer, BertConfig, PeAudioConfig, PeAudioFrameLevelModel

    from encoders.towers import minilm_dir

    text = BertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                      intermediate_size=64)
    audio = dict(dac_config=dict(downsampling_ratios=[2, 4, 8, 10], encoder_hidden_size=4, hidden_size=32,
                                 codebook_dim=8, sampling_rate=16000),
                 hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, head_dim=16)
    torch.manual_seed(0)
    model = PeAudioFrameLevelModel(PeAudioConfig(text_config=text.to_dict() | {"model_type": "bert"}, audio_config=audio))
    model.save_pretrained(tmp_path / "pe")
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(tmp_path / "pe")
    enc = PEAVEncoder.from_pretrained(tmp_path / "pe")
    assert enc.sample_rate == 16000 and enc.embed_dim == 32
    t = enc.embed_text(["a violin"])
    a = enc.embed_audio(noise(seconds=1.0, rate=22050), 22050)
    assert t.shape == a.shape == (1, 32)
    assert torch.allclose(a.norm(dim=-1), torch.ones(1), atol=1e-5)
    assert enc.frame_scores(noise(), 16000, ["a violin"]).shape == (1, 25)
    with pytest.raises(SoundSiftError, match="no video tower"):
        enc.embed_video(torch.zeros(4, 3, 32, 32, dtype=torch.uint8), 10)
    shutil.rmtree(tmp_path / "pe")


def test_official_pe_audio_video_checkpoint_loads(tmp_path):
    """A transformers-format PE-AV checkpoint (tiny, random; timm's test ViT as frame encoder) saved and
    loaded from a local folder: text, audio and video land in one normalised space."""
    from transformers import AutoTokenizer, ModernBertConfig, PeAudioVideoConfig, PeAudioVideoModel

    from encoders.towers import minilm_dir

    # ModernBERT, as in the released PE-AV (MiniLM's tokenizer stands in: its ids fit the vocabulary)
    text = ModernBertConfig(vocab_size=30522, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                            intermediate_size=64, pad_token_id=0)
    small = dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, head_dim=16)
    audio = dict(dac_config=dict(downsampling_ratios=[2, 4, 8, 10], encoder_hidden_size=4, hidden_size=32,
                                 codebook_dim=8, sampling_rate=16000), **small)
    video = dict(vision_config=dict(architecture="test_vit", num_classes=32, global_pool="avg"), **small)
    torch.manual_seed(0)
    config = PeAudioVideoConfig(text_config=text.to_dict(), audio_video_config=dict(audio_config=audio, video_config=video, **small))
    PeAudioVideoModel(config).save_pretrained(tmp_path / "peav")
    AutoTokenizer.from_pretrained(minilm_dir()).save_pretrained(tmp_path / "peav")
    enc = PEAVEncoder.from_pretrained(tmp_path / "peav")
    t = enc.embed_text(["a violin", "a man speaking"])
    a = enc.embed_audio(noise(seconds=1.0, rate=22050), 22050)
    frames = torch.randint(0, 255, (3, 3, 160, 160), dtype=torch.uint8)
    v = enc.embed_video(frames, 1.0)
    assert t.shape == (2, 32) and a.shape == v.shape == (1, 32)
    for e in (t, a, v):
        assert torch.allclose(e.norm(dim=-1), torch.ones(len(e)), atol=1e-5)
    masks = torch.zeros(3, 160, 160)
    masks[:, :40, :40] = 1
    assert not torch.allclose(enc.embed_video(frames, 1.0, masks), v)  # the object mask reaches the model
    with pytest.raises(SoundSiftError, match="frame-level"):
        enc.frame_scores(noise(), 16000, ["a violin"])



def test_max_pooled_video_follows_the_masked_object_and_survives_empty_masks():
    torch.manual_seed(0)
    cfg = PEAVConfig.tiny()
    cfg.video_pool = "max"
    model = PEAVModel(cfg).eval()
    frames = torch.rand(1, 6, 3, 48, 48)
    masks = torch.zeros(1, 6, 48, 48)
    masks[:, :4, :16, :16] = 1  # the object leaves the frame for the last two frames
    changed = frames.clone()
    changed[..., :16, :16] = torch.rand(1, 6, 3, 16, 16)
    with torch.no_grad():
        emb, _ = model.embed_video(frames, masks)
        assert torch.isfinite(emb).all() and torch.allclose(emb.norm(dim=-1), torch.ones(1), atol=1e-5)
        assert not torch.allclose(emb, model.embed_video(changed, masks)[0], atol=1e-4)
