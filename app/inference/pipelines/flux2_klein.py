"""FLUX.2 Klein 4B: the final engine (4 steps, distilled, no guidance).

Re-renders the approved preview: the preview and any other references are passed as reference
images at the plan's resolution.
"""

from __future__ import annotations

from app.inference.pipelines import common

FAMILY = "flux2_klein"
LABEL = "FLUX.2 Klein"
_NAMES = ("scheduler", "vae", "text_encoder", "tokenizer", "transformer")


def pipeline_key(plan) -> tuple:
    return (FAMILY, str(plan.model_dir), str(plan.transformer_file), plan.dtype)


def build(manager, plan):
    import diffusers

    from app.inference import loading

    specs = common.specs_for(plan, FAMILY)
    parts = common.load_shared(manager, specs, _NAMES)
    distilled = bool(loading.read_model_index(plan.model_dir).get("is_distilled", True))
    return common.quiet(diffusers.Flux2KleinPipeline(**parts, is_distilled=distilled))


def run(manager, key, pipe, plan, request, callback):
    return common.run_with_references(manager, key, pipe, plan, request, callback, guidance=1.0)
