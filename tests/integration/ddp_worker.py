"""One rank of a data-parallel test run (started by torchrun from tests/integration/test_distributed.py).

usage: torchrun --nproc_per_node N ddp_worker.py CONFIG.json RUN_DIR OUT_DIR [--stop-at K] [--kill-at K]

Rank 0 saves the final G, D (and EMA) weights, the history and the record to OUT_DIR/result.pt; every
rank saves whether its weights equal the other ranks' (bitwise), its metrics and the batch sizes its
own feature extractor ran on (``extracted``) to OUT_DIR/rank<r>.json.
``--kill-at K``: rank 1 dies (exit 1, no checkpoint) when it reaches step K, once per OUT_DIR.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import torch

import ganbench.models  # noqa: F401  (first: objectives <-> models import order, see the report)
from ganbench.config import config_from_dict
from ganbench.evaluation import images
from ganbench.training import distributed
from ganbench.training.trainer import Trainer

EXTRACTED: list[int] = []  # the batch sizes this rank's own feature extractor ran on
_build_extractor = images.build_extractor


def counting_extractor(*args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - test hook
    extractor = _build_extractor(*args, **kwargs)
    forward = extractor.forward

    def counted(x):  # noqa: ANN001, ANN202
        EXTRACTED.append(len(x))
        return forward(x)

    extractor.forward = counted
    return extractor


images.build_extractor = counting_extractor


class KillingTrainer(Trainer):
    kill_at: int | None = None
    marker: Path | None = None

    def train_step(self, step, batches):  # noqa: ANN001, ANN201 - test hook
        if step == self.kill_at and self.world.rank == 1 and not self.marker.exists():
            self.marker.write_text("killed")
            os._exit(1)  # like a crashed node: no cleanup, no checkpoint
        return super().train_step(step, batches)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("config")
    ap.add_argument("run_dir")
    ap.add_argument("out")
    ap.add_argument("--stop-at", type=int)
    ap.add_argument("--kill-at", type=int)
    args = ap.parse_args()
    cfg = config_from_dict(json.loads(Path(args.config).read_text()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    KillingTrainer.kill_at, KillingTrainer.marker = args.kill_at, out / "killed"
    trainer = KillingTrainer(cfg, args.run_dir, progress=False, stop_at=args.stop_at)
    record = trainer.run()
    world = trainer.world
    same = {
        name: distributed.same_on_all_ranks(net, world)
        for name, net in (
            ("G", trainer.G),
            ("D", trainer.D),
            ("ema", trainer.ema.module if trainer.ema else None),
        )
        if net is not None
    }
    (out / f"rank{world.rank}.json").write_text(
        json.dumps({"same": same, "metrics": (record or {}).get("metrics"), "extracted": EXTRACTED})
    )
    if world.main:
        result = {
            "G": trainer.G.state_dict(),
            "D": trainer.D.state_dict(),
            "ema": trainer.ema.state_dict() if trainer.ema else None,
            "history": trainer.history,
            "record": record,
        }
        torch.save(result, out / "result.pt")
    distributed.close()


if __name__ == "__main__":
    main()
