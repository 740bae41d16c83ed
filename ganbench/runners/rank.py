"""One rank of a run launched by :mod:`ganbench.runners.launch`:
``python -m torch.distributed.run --standalone --nproc_per_node N -m ganbench.runners.rank CONFIG RESULTS``.

Its own module, not imported by the package, so ``-m`` runs it cleanly. The executor's process holds
the run lock; the ranks take none.
"""

from __future__ import annotations

import sys
import traceback
from pathlib import Path
from typing import Any

from ganbench.config import config_from_dict
from ganbench.io import read_json
from ganbench.records import new_record, write_record
from ganbench.training import distributed
from ganbench.training.trainers import trainer_for


def main(argv: list[str] | None = None) -> int:
    """One rank: load the run's config and train it (the trainer joins torchrun's process group).
    An exception is written as the run's failed record by rank 0, as ``run_one`` does for one process."""
    config_file, results_dir = (argv if argv is not None else sys.argv[1:])[:2]
    cfg = config_from_dict(read_json(config_file), config_file)
    run_dir = Path(results_dir) / cfg.run_id
    world = distributed.env_world()
    record: dict[str, Any] | None = None
    try:
        trainer_cls = trainer_for(cfg)  # data-parallel: launch() checked it
        record = trainer_cls(cfg, run_dir, progress=False).run()
    except Exception as e:
        if world.main:
            error = f"{type(e).__name__}: {e}"
            write_record(
                run_dir,
                new_record(cfg, "failed", error=error, provenance={"traceback": traceback.format_exc()}),
            )
        raise
    finally:
        distributed.close()
    return 0 if record is not None else 1


if __name__ == "__main__":
    sys.exit(main())
