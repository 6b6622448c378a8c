"""Query-conditioned source separation.

    from separation import Separator
    sep = Separator.from_pretrained()
    res = sep.separate(wave, rate, text="a violin")          # res.targets[0], res.residual
"""

from separation.api import Separation, Separator, StreamedSeparation
from separation.configuration import SeparatorConfig
from separation.prompts import Prompt, build_prompts, parse_click, parse_span, stem_names

__all__ = ["Separator", "Separation", "StreamedSeparation", "SeparatorConfig", "Prompt", "build_prompts",
           "parse_click", "parse_span", "stem_names"]
