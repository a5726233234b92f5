"""Helpers the family modules share: component specs for a plan, and generators."""

from __future__ import annotations

import torch

from app.inference import loading


def specs_for(plan, family: str) -> dict[str, loading.ComponentSpec]:
    """Component specs for the plan: the folder's, with the transformer swapped for a single file if given."""
    dtype = loading.torch_dtype(plan.dtype)
    specs = loading.folder_specs(plan.model_dir, dtype, family)
    if plan.transformer_file is not None:
        base = specs["transformer"]
        specs["transformer"] = loading.ComponentSpec(
            "transformer", base.cls_name, plan.transformer_file, dtype, config=plan.model_dir, family=family
        )
    return specs


def load_shared(manager, specs: dict[str, loading.ComponentSpec], names: tuple[str, ...]) -> dict:
    """Weights and tokenizer through the manager (shared); the stateful scheduler always fresh."""
    out = {}
    for name in names:
        spec = specs[name]
        out[name] = loading.load_component(spec) if name == "scheduler" else manager.component(spec)
    return out


def generator(seed: int) -> torch.Generator:
    """A CPU generator: the same seed gives the same noise on every device."""
    return torch.Generator(device="cpu").manual_seed(int(seed))


def quiet(pipe):
    pipe.set_progress_bar_config(disable=True)
    return pipe


def run_with_references(manager, key, pipe, plan, request, callback, *, guidance: float):
    """FLUX.2 (Klein and Dev): re-render with the init image and the other references as reference images."""
    from app.inference import api

    plan = api.snap_size(plan)
    w, h = plan.width, plan.height
    # Neither family uses a negative prompt, so the cache key holds the prompt alone.
    embeds = manager.embeddings((key, request.prompt, ""), lambda: encode_prompt(pipe, request.prompt))
    refs = [api.to_pil(r, w, h) for r in request.references]
    if request.image is not None:
        refs.insert(0, api.to_pil(request.image, w, h))
    out = pipe(
        image=refs or None,
        prompt_embeds=embeds,
        guidance_scale=guidance,
        num_inference_steps=plan.steps,
        width=w,
        height=h,
        generator=generator(request.seed),
        output_type="np",
        callback_on_step_end=callback,
    )
    return api.to_uint8(out.images)


def encode_prompt(pipe, prompt: str):
    embeds, _ = pipe.encode_prompt(prompt, device=pipe._execution_device)
    return embeds
