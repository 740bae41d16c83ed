import os

import pytest
import torch

# Tests run on 2 cores shared with other processes: one intra-op thread keeps timings stable and
# results deterministic.
torch.set_num_threads(1)
os.environ.setdefault("GANBENCH_CACHE", os.path.join(os.path.dirname(__file__), "..", ".cache-tests"))


@pytest.fixture
def toy_cfg_dict():
    """A small, fast toy run config as a plain dict."""
    return {
        "seed": 0,
        "data": {"name": "ring8"},
        "model": {"name": "mlp", "z_dim": 2, "g": {"width": 32, "depth": 2}, "d": {"width": 32, "depth": 2}},
        "objective": {"loss": "nonsaturating", "lipschitz": "none"},
        "optim": {"lr_g": 1e-3, "lr_d": 1e-3, "betas": [0.5, 0.9]},
        "train": {
            "steps": 60,
            "batch_size": 64,
            "checkpoint_every": 20,
            "log_every": 10,
            "lipschitz_estimate_every": 30,
        },
        "eval": {"n_samples": 500, "metrics": ["modes"]},
        "runtime": {"device": "cpu", "progress": False},
    }
