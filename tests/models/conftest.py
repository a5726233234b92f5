import pytest

from app.models.catalog import parse_catalog


def small_catalog_dict() -> dict:
    """A two-model catalog whose repos the fake hub serves."""
    stage_off = {"enabled": False, "reason": "no GPU"}
    return {
        "schema_version": 1,
        "models": {
            "zit": {
                "name": "Z test",
                "family": "z-image",
                "role": "preview",
                "repo": "org/base",
                "licence": "apache-2.0",
                "licence_url": "https://example.invalid/licence",
                "commercial_use": True,
                "gated": False,
                "components": {
                    "base": {"files": ["model_index.json", "tokenizer/"]},
                    "text_encoder": {"files": ["text_encoder/"], "size_gb": 0.001},
                    "transformer": {"files": ["transformer/"]},
                },
                "variants": {
                    "bf16": {
                        "label": "folder",
                        "format": "diffusers",
                        "quant": "bf16",
                        "components": ["base", "text_encoder", "transformer"],
                    },
                    "q4_k_m": {
                        "label": "gguf",
                        "format": "gguf",
                        "quant": "Q4_K_M",
                        "repo": "org/gguf",
                        "file": "zit-Q4_K_M.gguf",
                        "components": ["base", "text_encoder"],
                    },
                },
            },
        },
        "tiers": {
            "cpu": {
                "label": "CPU",
                "device": "cpu",
                "preview": {
                    "model": "zit",
                    "variant": "q4_k_m",
                    "dtype": "bf16",
                    "offload": "none",
                    "resolution": 512,
                    "steps": 9,
                },
                "final": stage_off,
            }
        },
    }


@pytest.fixture
def small_catalog():
    return parse_catalog(small_catalog_dict(), path="test.toml")
