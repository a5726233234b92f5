"""FLUX.2 [dev]: an optional final engine for big cards (32B transformer, Mistral-Small-3.x text encoder).

Same job as FLUX.2 Klein: re-render the approved preview, given as reference images. Dev is
guidance-distilled: the guidance scale goes into the transformer as an embedding (one pass per
step, no negative prompt). The `tokenizer/` folder is a PixtralProcessor; only its tokenizer is
loaded (prompts are text only), so torchvision is not needed.
"""

from __future__ import annotations

from app.inference.pipelines import common

FAMILY = "flux2"
LABEL = "FLUX.2 Dev"
GUIDANCE = 4.0  # the model card's default
_NAMES = ("scheduler", "vae", "text_encoder", "tokenizer", "transformer")


def pipeline_key(plan) -> tuple:
    return (FAMILY, str(plan.model_dir), str(plan.transformer_file), plan.dtype)


def build(manager, plan):
    import diffusers

    specs = common.specs_for(plan, FAMILY)
    parts = common.load_shared(manager, specs, _NAMES)
    return common.quiet(diffusers.Flux2Pipeline(**parts))


def run(manager, key, pipe, plan, request, callback):
    return common.run_with_references(manager, key, pipe, plan, request, callback, guidance=GUIDANCE)
