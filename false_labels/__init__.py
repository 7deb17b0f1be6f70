__version__ = "0.1.0"

import warnings as _warnings
# Importing fastai calls the deprecated `torch.jit.script`: silenced once here, before any module imports fastai.
_warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
