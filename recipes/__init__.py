"""The data engine (recipes.data) and the training recipes for the encoders and the separator."""

from soundsift.cpu_torch import import_torchvision

import_torchvision()  # before transformers or lightning import it: see soundsift/cpu_torch.py
