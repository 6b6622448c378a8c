"""Query-conditioned source separation.

    from separation import Separator
    sep = Separator.from_pretrained()
    res = sep.separate(wave, rate, text="a violin")          # res.targets[0], res.residual
"""

import soundsift  # noqa: F401  (first: it makes torchvision importable beside a CPU-only torch)

from separation.api import Separation, Separator, parse_span

__all__ = ["Separator", "Separation", "parse_span"]
