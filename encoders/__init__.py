"""PE-AV-style encoders: audio (DAC latents at 40 ms), video (+ object masks), audio-video fusion and a
frozen MiniLM text tower, projected into one space; plus a frame-level audio-text head (PE-A-Frame).

    from encoders import PEAVEncoder
    enc = PEAVEncoder.from_pretrained()          # shipped default, or a folder (ours or official PE-AV)
    enc.embed_text(["a violin"]); enc.embed_audio(wave, rate); enc.spans(wave, rate, "a violin")
"""

from soundsift.cpu_torch import import_torchvision

import_torchvision()  # before transformers or lightning import it: see soundsift/cpu_torch.py

from encoders.api import PEAVEncoder, normalize_level
from encoders.configuration import PEAVConfig
from encoders.modeling import PEAVModel, sigmoid_contrastive_loss

__all__ = ["PEAVEncoder", "PEAVConfig", "PEAVModel", "sigmoid_contrastive_loss", "normalize_level"]
