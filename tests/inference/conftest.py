"""Tiny random-weight model packs, built once per test session (a few MB, a few seconds)."""

import os
import time

import numpy as np
import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")


@pytest.fixture(scope="session")
def packs(tmp_path_factory):
    from app.inference import packs as packs_mod

    t0 = time.monotonic()
    built = packs_mod.build_all(tmp_path_factory.mktemp("packs"))
    built["_build_seconds"] = time.monotonic() - t0
    return built


@pytest.fixture
def painting():
    """A stand-in for the procedural painting: coloured blocks and lines, 64x64."""
    img = np.full((64, 64, 3), 235, np.uint8)
    img[8:30, 8:40] = (90, 140, 200)
    img[40:56, 20:60] = (120, 180, 90)
    img[:, 32] = 30
    return img


@pytest.fixture
def structure():
    """Line art: dark lines on white, 64x64."""
    img = np.full((64, 64, 3), 255, np.uint8)
    img[16, 4:60] = 0
    img[4:60, 24] = 0
    img[48, 10:50] = 0
    return img


@pytest.fixture(scope="session")
def plans(packs):
    """Factories for CPU plans on the tiny packs (float32, 64x64)."""
    from dataclasses import replace

    from app.inference.api import StagePlan

    cpu = {"dtype": "float32", "device": "cpu", "width": 64, "height": 64}
    built_packs = packs

    class Plans:
        packs = built_packs

        @staticmethod
        def preview(**kw):
            base = StagePlan("preview", "z_image", packs["z_image"], steps=8, **cpu)
            return replace(base, **kw)

        @staticmethod
        def controlnet(**kw):
            base = StagePlan(
                "preview",
                "z_image",
                packs["z_image"],
                controlnet_file=packs["controlnet"],
                use_controlnet=True,
                steps=8,
                **cpu,
            )
            return replace(base, **kw)

        @staticmethod
        def final(**kw):
            base = StagePlan("final", "flux2_klein", packs["klein"], steps=4, **cpu)
            return replace(base, **kw)

        @staticmethod
        def dev(**kw):
            base = StagePlan("final", "flux2", packs["flux2_dev"], steps=2, **cpu)
            return replace(base, **kw)

    return Plans
