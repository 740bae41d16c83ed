"""Evaluation sources: where the samples to score come from (registered in ``registries.SOURCES``).

Every source yields uint8 batches N×C×H×W (values 0..255) with labels or None, for a requested
number of samples and a seed. One module per kind:

- ``folder`` (:mod:`.folder`): PNG/JPEG files under a folder (recursive); class sub-folders give labels;
- ``array`` (:mod:`.array`): a ``.npy`` / ``.npz`` array, N×C×H×W, N×H×W×C or N×H×W, uint8 or float
  in a declared range; ``.npz`` keys ``images`` (or a named key) and optionally ``labels``; never
  unpickled;
- ``torchscript``, ``callable`` (:mod:`.generator`): a TorchScript generator file, called as ``G(z)``
  or ``G(z, y)``; ``package.module:factory`` or ``path/to/file.py:factory``, whose ``factory()``
  returns the generator (this imports and runs the user's code, which is the point of it);
- ``nvidia-pickle`` (:mod:`.nvidia_pickle`): an NVIDIA StyleGAN2/3 ``network-snapshot-*.pkl``, read by a
  restricted unpickler (nothing in it runs) into ganbench's own StyleGAN2/3 generator;
- ``run``: a ganbench run folder; its record's config rebuilds G, the checkpoint gives the weights
  (registered by ``ganbench.training.run_source``, beside the code that writes checkpoints).

:mod:`.base` holds the interface (EvalSource, FileSource), value ranges, quantisation and
:func:`conform`; :mod:`.open` turns a command-line argument into a source. Importing this package
registers every kind it defines.
"""

from ganbench.evaluation.sources.array import ArraySource
from ganbench.evaluation.sources.base import (
    RANGE_SLACK,
    RANGES,
    Batch,
    EvalSource,
    FileSource,
    ValueRange,
    conform,
    float_to_uint8,
    parse_range,
)
from ganbench.evaluation.sources.folder import FolderSource
from ganbench.evaluation.sources.generator import (
    LATENTS,
    CallableSource,
    GeneratorSource,
    TorchScriptSource,
    load_factory,
    sample_latents,
)
from ganbench.evaluation.sources.nvidia_pickle import (
    NvidiaPickleSource,
    load_nvidia_generator,
    read_nvidia_pickle,
    write_nvidia_pickle,
)
from ganbench.evaluation.sources.open import detect_kind, open_source

__all__ = [
    "LATENTS",
    "NvidiaPickleSource",
    "RANGES",
    "RANGE_SLACK",
    "ArraySource",
    "Batch",
    "CallableSource",
    "EvalSource",
    "FileSource",
    "FolderSource",
    "GeneratorSource",
    "TorchScriptSource",
    "ValueRange",
    "conform",
    "detect_kind",
    "float_to_uint8",
    "load_factory",
    "load_nvidia_generator",
    "open_source",
    "parse_range",
    "read_nvidia_pickle",
    "sample_latents",
    "write_nvidia_pickle",
]
