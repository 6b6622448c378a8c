"""Reference-free scoring of separations and reranking of candidates.

    from judge import Judge; from separation import Separator
    j = Judge.from_pretrained(separator=Separator.from_pretrained())
    j.score(mixture, rate, target, text="a violin")    # Scores(overall, recall, precision, faithfulness)
    j.rerank(mixture, rate, candidates, text="a violin")
"""

from soundsift.cpu_torch import import_torchvision

import_torchvision()  # before transformers imports it: see soundsift/cpu_torch.py

from judge.api import Judge, Scores  # noqa: E402
from judge.configuration import SCORES, JudgeConfig  # noqa: E402
from judge.modeling import JudgeNet  # noqa: E402

__all__ = ["Judge", "Scores", "JudgeConfig", "JudgeNet", "SCORES"]
