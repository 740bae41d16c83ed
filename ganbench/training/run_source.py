"""The ``run`` evaluation source: a ganbench run folder, scored like any other generator.

It lives in the training layer because it rebuilds what training wrote: the record's config
rebuilds G through the model registry, and :func:`ganbench.training.checkpoint.load_generator_weights`
(which the trainer also uses) gives the weights. The evaluation core only sees a GeneratorSource.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from ganbench.config import RunConfig
from ganbench.errors import CheckpointMismatchError, GanbenchError, SourceError
from ganbench.evaluation.sources import GeneratorSource
from ganbench.evaluation.sources.base import option_name
from ganbench.io import sha256_file
from ganbench.records import read_record
from ganbench.registries import DATASETS, MODELS, SOURCES, load_all
from ganbench.schema import from_dict
from ganbench.training.checkpoint import load_generator_weights


@SOURCES.register("run")
class RunSource(GeneratorSource):
    """A ganbench run folder: ``record.json`` gives the config that rebuilds G, ``checkpoints/``
    the weights (``checkpoint``: auto = best.pt when there is one, else last.pt). The EMA weights are
    used when the checkpoint has them and ``use_ema`` (best.pt already holds the evaluated G)."""

    kind = "run"

    def __init__(self, path: str, checkpoint: str = "auto", use_ema: bool = True) -> None:
        load_all()
        run_dir = Path(path)
        record = read_record(run_dir)
        if record is None:
            raise SourceError(f"run source {run_dir}: no record.json (is this a ganbench run folder?)")
        self.cfg = from_dict(RunConfig, record["config"], f"{run_dir}/record.json: config").validate(
            f"{run_dir}/record.json"
        )
        try:
            weights, ckpt, which, step = load_generator_weights(
                run_dir, checkpoint, use_ema, self.cfg.config_hash
            )
        except CheckpointMismatchError:
            raise
        except GanbenchError as e:
            raise SourceError(_unloadable(run_dir, e)) from None
        self.data = DATASETS.get(self.cfg.data.name, "data.name")(self.cfg.data)
        G, _ = MODELS.get(self.cfg.model.name, "model.name").build(self.cfg, self.data)
        try:
            G.load_state_dict(weights)
        except RuntimeError as e:
            raise SourceError(
                f"run source {run_dir}: {ckpt.name} does not fit the recorded model: {e}"
            ) from None
        self.run_dir, self.checkpoint, self.weights_used, self.step = run_dir, ckpt, which, step
        self.record_meta = {k: record.get(k) for k in ("run_id", "config_hash", "status")}
        super().__init__(G, str(run_dir), G.z_dim, getattr(G, "num_classes", None), "-1,1")

    def default_reference(self) -> Any:
        return self.data

    def describe(self) -> dict[str, Any]:
        return {
            **super().describe(),
            "path": str(self.run_dir.resolve()),
            **self.record_meta,
            "checkpoint": self.checkpoint.name,
            "checkpoint_sha256": sha256_file(self.checkpoint),
            "step": self.step,
            "weights": self.weights_used,
        }


def _unloadable(run_dir: Path, e: GanbenchError) -> str:
    """One line of ganbench's own advice for a checkpoint that would not load (torch's message
    spans lines and suggests ``weights_only=False``, i.e. running whatever the file holds)."""
    chain = []
    cause: BaseException | None = e.__cause__
    while cause is not None:  # the loaders may wrap torch's error more than once
        chain.append(cause)
        cause = cause.__cause__
    if not chain:  # ganbench's own message (a missing checkpoint, a bad --checkpoint): already one line
        return str(e)
    cause = chain[-1]
    name = Path(str(e).split(": ", 1)[0]).name
    if isinstance(cause, pickle.UnpicklingError):  # weights_only=True refused what the file holds
        return (
            f"run source {run_dir}: {name} holds Python objects besides tensors, so it was not written by "
            f"ganbench train; ganbench does not unpickle files it did not write. Evaluate the generator "
            f"through a module:factory that builds and loads it, or samples it wrote "
            f"(docs/evaluation.md, 'Evaluating a checkpoint trained elsewhere')"
        )
    first = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
    return (
        f"run source {run_dir}: {name} cannot be loaded ({first}); it is damaged or truncated (e.g. "
        f"an interrupted write): evaluate another one with {option_name('checkpoint')}, or retrain the run"
    )
