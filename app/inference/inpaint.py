"""Repaint a region (issue 16): the inpainting pipelines of the two families, as `api.generate` runs them.

- preview: diffusers' `ZImageInpaintPipeline` (masked img2img: every step the latents outside the mask
  are put back from the picture, noised to that step).
- final: diffusers' `Flux2KleinInpaintPipeline` (the picture is also its reference image; the first of
  the request's references, the map's line art, is passed as `image_reference`).

Both are built from the components the family's other pipelines use (`common.load_shared` goes through
the manager), so a repaint after a preview or a final loads no weights again; only the stateful scheduler
is fresh. The mask is white (1) where the picture is repainted; the model sees it in whole latent cells
(`mask_image`). The exact, feathered blend back into the picture happens at the output size in
`app/jobs/repaint.py`: the model's decode changes pixels outside the mask a little, the blend does not.
"""

from __future__ import annotations

import numpy as np

from app.inference import api
from app.inference.pipelines import common, flux2_klein, z_image

_NAMES = ("scheduler", "vae", "text_encoder", "tokenizer", "transformer")


def mask_image(mask: np.ndarray, width: int, height: int, *, cell: int = 8):
    """A white-on-black PIL "L" image at (width, height) from a mask of any size, whole latent cells white.

    The pipelines sample the mask down to the latent grid with "nearest" (one pixel of each `cell`×`cell`
    block), which would drop a thin stroke; here a block is white when any pixel of it is.
    """
    from PIL import Image

    m = np.asarray(mask)
    img = Image.fromarray(((m > 0.5) if m.dtype != bool else m).astype(np.uint8) * 255, "L")
    if img.size != (width, height):
        img = img.resize((width, height), Image.Resampling.BILINEAR)
    m = np.asarray(img) > 0
    if cell > 1:
        hh, ww = -(-height // cell) * cell, -(-width // cell) * cell
        padded = np.zeros((hh, ww), bool)
        padded[:height, :width] = m
        blocks = padded.reshape(hh // cell, cell, ww // cell, cell).any(axis=(1, 3))
        m = np.repeat(np.repeat(blocks, cell, axis=0), cell, axis=1)[:height, :width]
    return Image.fromarray(m.astype(np.uint8) * 255, "L")


class ZImageInpaint:
    """Z-Image-Turbo, inpainting (the preview engine's repaint)."""

    LABEL = z_image.LABEL

    @staticmethod
    def pipeline_key(plan) -> tuple:
        return (z_image.FAMILY, "inpaint", str(plan.model_dir), str(plan.transformer_file), plan.dtype)

    @staticmethod
    def build(manager, plan):
        import diffusers

        parts = common.load_shared(manager, common.specs_for(plan, z_image.FAMILY), _NAMES)
        return common.quiet(diffusers.ZImageInpaintPipeline(**parts))

    @staticmethod
    def run(manager, key, pipe, plan, request, callback):
        plan = api.snap_size(plan)
        w, h = plan.width, plan.height
        embeds = manager.embeddings(
            (key, request.prompt, request.negative), lambda: z_image.encode(pipe, request.prompt)
        )
        out = pipe(
            image=api.to_pil(request.image, w, h),
            mask_image=mask_image(request.mask, w, h, cell=_cell(pipe)),
            strength=_strength(request.strength, plan.steps),
            prompt_embeds=embeds,
            guidance_scale=0.0,
            num_inference_steps=plan.steps,
            width=w,
            height=h,
            generator=common.generator(request.seed),
            output_type="np",
            callback_on_step_end=callback,
        )
        return api.to_uint8(out.images)


class Flux2KleinInpaint:
    """FLUX.2 Klein, inpainting (the final engine's repaint)."""

    LABEL = flux2_klein.LABEL

    @staticmethod
    def pipeline_key(plan) -> tuple:
        return (flux2_klein.FAMILY, "inpaint", str(plan.model_dir), str(plan.transformer_file), plan.dtype)

    @staticmethod
    def build(manager, plan):
        import diffusers

        from app.inference import loading

        parts = common.load_shared(manager, common.specs_for(plan, flux2_klein.FAMILY), _NAMES)
        distilled = bool(loading.read_model_index(plan.model_dir).get("is_distilled", True))
        return common.quiet(diffusers.Flux2KleinInpaintPipeline(**parts, is_distilled=distilled))

    @staticmethod
    def run(manager, key, pipe, plan, request, callback):
        plan = api.snap_size(plan)
        w, h = plan.width, plan.height
        embeds = manager.embeddings((key, request.prompt, ""), lambda: common.encode_prompt(pipe, request.prompt))
        reference = api.to_pil(request.references[0], w, h) if request.references else None
        out = pipe(
            image=api.to_pil(request.image, w, h),
            image_reference=reference,
            mask_image=mask_image(request.mask, w, h, cell=2 * _cell(pipe)),
            strength=_strength(request.strength, plan.steps),
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


FAMILIES = {"z_image": ZImageInpaint, "flux2_klein": Flux2KleinInpaint}


def family(name: str):
    """The inpainting adapter of a model family (`api.family_module`'s shape: LABEL, pipeline_key, build, run)."""
    if name not in FAMILIES:
        raise ValueError(f"model family {name!r} cannot repaint a region (repaint uses z_image or flux2_klein)")
    return FAMILIES[name]


def _cell(pipe) -> int:
    """Pixels per latent cell (the VAE's scale factor): Z-Image samples its mask to that grid with "nearest";
    FLUX.2 Klein to its packed grid (2×2 cells) with "bilinear" (a whole block reads 1 there)."""
    return int(getattr(pipe, "vae_scale_factor", 8))


def _strength(strength: float, steps: int) -> float:
    """At least one denoising step must remain."""
    return min(1.0, max(strength, 1.0 / max(1, steps)))
