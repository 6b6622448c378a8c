"""Query-conditioned source separation.

    from separation import Separator
    sep = Separator.from_pretrained()
    res = sep.separate(wave, rate, text="a violin")          # res.targets[0], res.residual
"""

from separation.api import Separation, Separator, parse_span

__all__ = ["Separator", "Separation", "parse_span"]
