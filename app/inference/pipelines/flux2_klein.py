"""FLUX.2 Klein 4B: the final engine (4 steps, distilled, no guidance).

Re-renders the approved preview: the preview and any other references are passed as reference
images at the plan's resolution.
"""

from __future__ import annotations

from app.inference import api
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


def encode(pipe, prompt: str):
    embeds, _ = pipe.encode_prompt(prompt, device=pipe._execution_device)
    return embeds


def run(manager, key, pipe, plan, request, callback):
    plan = api.snap_size(plan)
    w, h = plan.width, plan.height
    embeds = manager.embeddings((key, request.prompt, request.negative), lambda: encode(pipe, request.prompt))
    refs = [api.to_pil(r, w, h) for r in request.references]
    if request.image is not None:
        refs.insert(0, api.to_pil(request.image, w, h))
    out = pipe(
        image=refs or None,
        prompt_embeds=embeds,
        guidance_scale=1.0,
        num_inference_steps=plan.steps,
        width=w,
        height=h,
        generator=common.generator(request.seed),
        output_type="np",
        callback_on_step_end=callback,
    )
    return api.to_uint8(out.images)
