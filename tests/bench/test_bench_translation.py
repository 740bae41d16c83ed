"""Step time of Pix2Pix and CycleGAN at 32×32 against DCGAN at matched width, as ratios from one run.

"Matched width": DCGAN's ``ch`` = the translators' ``ngf`` = ``ndf`` = 32, batch 16, one thread,
the networks of the recipes (U-Net with 5 halvings + 16×16 PatchGAN; ResNet generator with 6
blocks + two PatchGANs; DCGAN G and D at 32×32). One "step" is what each trainer does per
generator update: DCGAN one D and one G update; Pix2Pix one D and one G update on (a, b) pairs;
CycleGAN both translators, both cycles and identities, and two D updates. The numbers are ratios
measured in one run, so the machine's load cancels; the note of issue 12 reports them.
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

from ganbench.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganbench.models.translators import PatchDiscriminator, ResnetGenerator, UNetGenerator

WIDTH, BATCH, RES, STEPS = 32, 16, 32, 20


def _adam(*nets):
    return torch.optim.Adam([p for n in nets for p in n.parameters()], 2e-4, betas=(0.5, 0.999))


def dcgan_steps() -> float:
    G, D = DCGANGenerator(100, RES, 1, ch=WIDTH), DCGANDiscriminator(RES, 1, ch=WIDTH)
    og, od = _adam(G), _adam(D)
    real = torch.randn(BATCH, 1, RES, RES)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        fake = G(torch.randn(BATCH, 100))
        loss_d = F.softplus(-D(real)).mean() + F.softplus(D(fake.detach())).mean()
        od.zero_grad()
        loss_d.backward()
        od.step()
        loss_g = F.softplus(-D(fake)).mean()
        og.zero_grad()
        loss_g.backward()
        og.step()
    return time.perf_counter() - t0


def pix2pix_steps() -> float:
    G, D = UNetGenerator(RES, 1, 1, ngf=WIDTH), PatchDiscriminator(RES, 1, 1, ndf=WIDTH, receptive_field=16)
    og, od = _adam(G), _adam(D)
    a, b = torch.randn(BATCH, 1, RES, RES), torch.randn(BATCH, 1, RES, RES)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        fake = G(a)
        loss_d = 0.5 * (F.softplus(-D(b, a)).mean() + F.softplus(D(fake.detach(), a)).mean())
        od.zero_grad()
        loss_d.backward()
        od.step()
        loss_g = F.softplus(-D(fake, a)).mean() + 100 * F.l1_loss(fake, b)
        og.zero_grad()
        loss_g.backward()
        og.step()
    return time.perf_counter() - t0


def cyclegan_steps() -> float:
    G, Fb = (
        ResnetGenerator(RES, 1, 1, ngf=WIDTH, n_blocks=6),
        ResnetGenerator(RES, 1, 1, ngf=WIDTH, n_blocks=6),
    )
    Da = PatchDiscriminator(RES, 1, ndf=WIDTH, receptive_field=16, norm="instance")
    Db = PatchDiscriminator(RES, 1, ndf=WIDTH, receptive_field=16, norm="instance")
    og, od = _adam(G, Fb), _adam(Da, Db)
    a, b = torch.randn(BATCH, 1, RES, RES), torch.randn(BATCH, 1, RES, RES)
    t0 = time.perf_counter()
    for _ in range(STEPS):
        fake_b, fake_a = G(a), Fb(b)
        loss_g = (
            ((Db(fake_b) - 1) ** 2).mean()
            + ((Da(fake_a) - 1) ** 2).mean()
            + 10 * (F.l1_loss(Fb(fake_b), a) + F.l1_loss(G(fake_a), b))
            + 5 * (F.l1_loss(G(b), b) + F.l1_loss(Fb(a), a))
        )
        og.zero_grad()
        loss_g.backward()
        og.step()
        loss_d = 0.5 * (
            ((Db(b) - 1) ** 2).mean() + (Db(fake_b.detach()) ** 2).mean()
            + ((Da(a) - 1) ** 2).mean() + (Da(fake_a.detach()) ** 2).mean()
        )  # fmt: skip
        od.zero_grad()
        loss_d.backward()
        od.step()
    return time.perf_counter() - t0


def test_translation_step_time_vs_dcgan(benchmark):
    torch.set_num_threads(1)
    torch.manual_seed(0)

    def all_three():
        # interleaved, so that the machine's load falls on each the same way
        return dcgan_steps(), pix2pix_steps(), cyclegan_steps()

    dcgan, pix2pix, cyclegan = benchmark.pedantic(all_three, rounds=3, iterations=1)
    benchmark.extra_info.update(
        {
            "dcgan_step_s": dcgan / STEPS,
            "pix2pix_vs_dcgan": pix2pix / dcgan,
            "cyclegan_vs_dcgan": cyclegan / dcgan,
        }
    )
    print(
        f"\nper step: dcgan {dcgan / STEPS * 1e3:.1f} ms, "
        f"pix2pix {pix2pix / dcgan:.2f}×, cyclegan {cyclegan / dcgan:.2f}×"
    )
    assert pix2pix > 0 and cyclegan > dcgan  # CycleGAN does four translations and two D updates
