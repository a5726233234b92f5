"""Z-Image-Turbo: the preview engine (8 steps, no guidance).

img2img from the procedural painting (strength from the style's creativity), or the ControlNet
Union from the structure image when the plan uses a ControlNet; plain text-to-image if neither
image is given.
"""

from __future__ import annotations

from app.inference import api, loading
from app.inference.pipelines import common

FAMILY = "z_image"
LABEL = "Z-Image-Turbo"
_NAMES = ("scheduler", "vae", "text_encoder", "tokenizer", "transformer")
CONTROL_SCALE = 0.75


def _mode(plan) -> str:
    return "controlnet" if plan.use_controlnet and plan.controlnet_file is not None else "img2img"


def pipeline_key(plan) -> tuple:
    mode = _mode(plan)
    cn = str(plan.controlnet_file) if mode == "controlnet" else None
    return (FAMILY, mode, str(plan.model_dir), str(plan.transformer_file), cn, plan.dtype)


def build(manager, plan):
    import diffusers

    specs = common.specs_for(plan, FAMILY)
    parts = common.load_shared(manager, specs, _NAMES)
    if _mode(plan) == "controlnet":
        # The pipeline wires the transformer's embedders into the ControlNet, so share it only
        # between pipelines that use the same transformer.
        cn_spec = loading.ComponentSpec(
            "controlnet",
            "ZImageControlNetModel",
            plan.controlnet_file,
            loading.torch_dtype(plan.dtype),
            share_tag=repr(specs["transformer"].key()),
        )
        parts["controlnet"] = manager.component(cn_spec)
        return common.quiet(diffusers.ZImageControlNetPipeline(**parts))
    return common.quiet(diffusers.ZImageImg2ImgPipeline(**parts))


def encode(pipe, prompt: str):
    embeds, _ = pipe.encode_prompt(prompt, device=pipe._execution_device, do_classifier_free_guidance=False)
    return embeds


def run(manager, key, pipe, plan, request, callback):
    plan = api.snap_size(plan)
    w, h = plan.width, plan.height
    embeds = manager.embeddings((key, request.prompt, request.negative), lambda: encode(pipe, request.prompt))
    common_args = {
        "prompt_embeds": embeds,
        "guidance_scale": 0.0,
        "num_inference_steps": plan.steps,
        "width": w,
        "height": h,
        "generator": common.generator(request.seed),
        "output_type": "np",
        "callback_on_step_end": callback,
    }
    if _mode(plan) == "controlnet" and request.control is not None:
        out = pipe(
            control_image=api.to_pil(request.control, w, h),
            controlnet_conditioning_scale=CONTROL_SCALE,
            **common_args,
        )
    elif request.image is not None:
        out = pipe(
            image=api.to_pil(request.image, w, h), strength=_strength(request.strength, plan.steps), **common_args
        )
    else:
        t2i_key = (FAMILY, "text2img", *key[2:])
        t2i = manager.pipeline(t2i_key, lambda m: _text_to_image(m, plan))
        manager.place(t2i_key, plan.device, plan.offload)
        out = t2i(**common_args)
    return api.to_uint8(out.images)


def _text_to_image(manager, plan):
    import diffusers

    parts = common.load_shared(manager, common.specs_for(plan, FAMILY), _NAMES)
    return common.quiet(diffusers.ZImagePipeline(**parts))


def _strength(strength: float, steps: int) -> float:
    """At least one denoising step must remain."""
    return min(1.0, max(strength, 1.0 / max(1, steps)))
