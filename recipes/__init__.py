"""The data engine (recipes.data) and the training recipes for the encoders and the separator."""

import soundsift  # noqa: F401  (first: it makes torchvision importable beside a CPU-only torch)
