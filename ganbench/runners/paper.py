"""``protocol: paper``: each method at its paper's recommended settings, one table, each entry cited.

A method is a (loss, Lipschitz method) pair. An entry applies to the runs matching its ``when``; every
matching entry applies, in table order (entries keyed on the Lipschitz method alone come first, so an
entry naming both keys refines them). The entries' settings replace the grid's own overrides for
the keys they set (``--set`` still wins). A run no entry matches is an error before any run: the
table must say what "the paper's settings" are for every method it is asked about, even when the
answer is "none published" (then the grid's shared setting is kept and the entry says so).

Sources are the papers' algorithm boxes and experiment sections (and the authors' code where
named); docs/toy-benchmark.md lists them with what was checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PaperSetting:
    when: dict[str, Any]
    set: dict[str, Any]
    cite: str
    notes: str = ""


PAPER_SETTINGS: tuple[PaperSetting, ...] = (
    PaperSetting(
        {"objective.lipschitz": "clip"},
        {
            "optim.name": "rmsprop",
            "optim.lr_g": 5e-5,
            "optim.lr_d": 5e-5,
            "train.n_critic": 5,
            "objective.lipschitz_params": {"c": 0.01},
        },
        "Arjovsky et al. 2017 (WGAN), Algorithm 1 defaults: RMSProp, alpha = 5e-5, c = 0.01, n_critic = 5",
    ),
    PaperSetting(
        {"objective.lipschitz": "gp"},
        {
            "optim.name": "adam",
            "optim.lr_g": 1e-4,
            "optim.lr_d": 1e-4,
            "optim.betas": [0.0, 0.9],
            "train.n_critic": 5,
            "objective.lipschitz_params": {"weight": 10.0},
        },
        "Gulrajani et al. 2017 (WGAN-GP), Algorithm 1 defaults: Adam alpha = 1e-4, beta1 = 0, beta2 = 0.9, "
        "lambda = 10, n_critic = 5",
    ),
    PaperSetting(
        {"objective.lipschitz": "sn"},
        {
            "optim.name": "adam",
            "optim.lr_g": 2e-4,
            "optim.lr_d": 2e-4,
            "optim.betas": [0.0, 0.9],
            "train.n_critic": 5,
        },
        "Miyato et al. 2018 (SNGAN), the ResNet experiments' setting (authors' code "
        "pfnet-research/sngan_projection): Adam alpha = 2e-4, beta1 = 0, beta2 = 0.9, n_dis = 5",
        "their Table 1 also lists setting C (2e-4, beta1 0.5, beta2 0.999, n_dis 1) for the standard CNN",
    ),
    PaperSetting(
        {"objective.lipschitz": "r1"},
        {
            "optim.name": "rmsprop",
            "optim.lr_g": 1e-4,
            "optim.lr_d": 1e-4,
            "train.n_critic": 1,
            "objective.lipschitz_params": {"gamma": 10.0},
        },
        "Mescheder et al. 2018 (R1), experiments section and the authors' GAN_stability configs: RMSProp, "
        "lr 1e-4 for G and D, gamma = 10, one D step per G step",
    ),
    PaperSetting(
        {"objective.lipschitz": "none", "objective.loss": "minimax"},
        {
            "optim.name": "adam",
            "optim.lr_g": 2e-4,
            "optim.lr_d": 2e-4,
            "optim.betas": [0.5, 0.999],
            "train.n_critic": 1,
        },
        "Goodfellow et al. 2014 give no optimiser; Radford et al. 2016 (DCGAN) section 4: "
        "Adam lr 2e-4, beta1 0.5",
    ),
    PaperSetting(
        {"objective.lipschitz": "none", "objective.loss": "nonsaturating"},
        {
            "optim.name": "adam",
            "optim.lr_g": 2e-4,
            "optim.lr_d": 2e-4,
            "optim.betas": [0.5, 0.999],
            "train.n_critic": 1,
        },
        "Radford et al. 2016 (DCGAN) section 4: Adam lr 2e-4, beta1 0.5 (beta2 Adam's default 0.999)",
    ),
    PaperSetting(
        {"objective.lipschitz": "none", "objective.loss": "lsgan"},
        {
            "optim.name": "adam",
            "optim.lr_g": 2e-4,
            "optim.lr_d": 2e-4,
            "optim.betas": [0.5, 0.999],
            "train.n_critic": 1,
        },
        "Mao et al. 2017 (LSGAN) section 4: Adam, beta1 0.5, lr 2e-4 (their LSUN-scene setting)",
    ),
    PaperSetting(
        {"objective.lipschitz": "none", "objective.loss": "hinge"},
        {},
        "none published: Lim & Ye 2017 (geometric GAN) and later hinge GANs always constrain D; the grid's "
        "shared setting is kept",
    ),
    PaperSetting(
        {"objective.lipschitz": "none", "objective.loss": "wasserstein"},
        {},
        "none published: a Wasserstein critic without a Lipschitz constraint is no paper's method; the "
        "grid's shared setting is kept",
    ),
)


def matching(run: dict[str, Any], lookup: Any) -> list[PaperSetting]:
    """The table's entries for the run ``run`` (a config mapping; ``lookup(run, key)`` reads a dotted
    key, the default when the run leaves it out)."""
    return [e for e in PAPER_SETTINGS if all(lookup(run, k) == v for k, v in e.when.items())]
