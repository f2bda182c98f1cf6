"""scratchnet: unsupervised deep learning built from scratch on NumPy, for reading and learning.

The public surface::

    import scratchnet as sn
    import scratchnet.functional as F

    x = sn.Tensor([1.0, 2.0, 3.0], requires_grad=True)
    loss = (F.tanh(x) ** 2).sum()
    loss.backward()
    x.grad                       # d loss / d x

``nn``, ``optim``, ``datasets``, ``train`` and ``models`` are imported with the package;
``viz`` (which imports matplotlib) is imported on demand: ``from scratchnet import viz``,
as are ``monitor`` (``TrainingMonitor``, a callback for ``fit``), ``notebook`` (lessons as
Jupyter notebooks) and ``exercises`` (the grader behind ``scratchnet check``).
"""

from scratchnet import datasets, functional, metrics, models, nn, optim, train
from scratchnet.autograd import (
    Function,
    Tensor,
    as_tensor,
    enable_grad,
    get_default_dtype,
    grad,
    is_grad_enabled,
    no_grad,
    set_default_dtype,
)
from scratchnet.backend import BackendError, get_array_module, set_backend
from scratchnet.checkpoint import CheckpointError, load, save
from scratchnet.gradcheck import GradcheckError, gradcheck, gradgradcheck
from scratchnet.random import get_generator, manual_seed

__version__ = "0.1.0"

__all__ = [
    "BackendError",
    "CheckpointError",
    "Function",
    "GradcheckError",
    "Tensor",
    "__version__",
    "as_tensor",
    "datasets",
    "enable_grad",
    "functional",
    "get_array_module",
    "get_default_dtype",
    "get_generator",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_grad_enabled",
    "load",
    "manual_seed",
    "metrics",
    "models",
    "nn",
    "no_grad",
    "optim",
    "save",
    "set_backend",
    "set_default_dtype",
    "train",
]
