"""A tight budget frees the text encoder once the prompt is encoded; a generous one keeps everything."""

import numpy as np

from app.inference import api
from app.inference.manager import ModelManager


def _gen(manager, plan, painting, prompt, seed=1):
    return api.generate(manager, plan, prompt=prompt, image=painting, strength=0.8, seed=seed)


def _pipe(manager, plan):
    return manager.pipeline(api.family_module("z_image").pipeline_key(plan), None)


def test_tight_budget_frees_the_text_encoder_and_reloads_it_only_for_a_new_prompt(plans, painting):
    plan = plans.preview()
    roomy = ModelManager(budget_bytes=10**12)
    want = _gen(roomy, plan, painting, "old map")
    with_encoder = roomy.loaded_bytes

    lean = ModelManager(budget_bytes=1)  # nothing fits: the policy is on
    first = _gen(lean, plan, painting, "old map")
    assert lean.tight and lean.stats["releases"] == 1
    assert _pipe(lean, plan).text_encoder is None
    assert lean.loaded_bytes < with_encoder  # the encoder's weights are gone
    np.testing.assert_array_equal(first, want)  # same picture as with the encoder resident

    loads = lean.stats["component_loads"]
    again = _gen(lean, plan, painting, "old map", seed=2)
    assert lean.stats["component_loads"] == loads  # cached embeddings: the encoder is not reloaded
    assert lean.stats["embed_hits"] == 1 and again.shape == first.shape

    _gen(lean, plan, painting, "a new prompt")
    assert lean.stats["component_loads"] == loads + 1  # a new prompt loads the encoder again...
    assert _pipe(lean, plan).text_encoder is None and lean.stats["releases"] == 2  # ...and frees it after
    assert lean.stats["pipeline_builds"] == 1


def test_generous_budget_keeps_the_text_encoder(plans, painting):
    plan = plans.preview()
    manager = ModelManager(budget_bytes=10**12)
    _gen(manager, plan, painting, "old map")
    _gen(manager, plans.final(), painting, "old map")  # both stages fit
    assert not manager.tight and manager.stats["releases"] == 0
    assert _pipe(manager, plan).text_encoder is not None
    loads = manager.stats["component_loads"]
    _gen(manager, plan, painting, "a new prompt")
    assert manager.stats["component_loads"] == loads


def test_tight_budget_frees_the_final_stages_encoder_too(plans, painting):
    manager = ModelManager(budget_bytes=1)
    plan = plans.final()
    a = _gen(manager, plan, painting, "old map")
    b = _gen(ModelManager(budget_bytes=10**12), plan, painting, "old map")
    np.testing.assert_array_equal(a, b)
    pipe = manager.pipeline(api.family_module("flux2_klein").pipeline_key(plan), None)
    assert pipe.text_encoder is None and manager.stats["releases"] == 1


def test_cached_embeddings_carry_no_autograd_graph(plans):
    """Embeddings cached outside inference mode carry no grad_fn (it would keep a freed encoder's weights alive)."""
    import torch

    from app.inference.pipelines import z_image

    plan = plans.preview()
    manager = ModelManager()
    key = z_image.pipeline_key(plan)
    pipe = manager.pipeline(key, lambda m: z_image.build(m, plan))
    assert torch.is_grad_enabled() and any(p.requires_grad for p in pipe.text_encoder.parameters())
    embeds = manager.embeddings((key, "old map", ""), lambda: z_image.encode(pipe, "old map"))
    flat = list(embeds) if isinstance(embeds, (list, tuple)) else [embeds]
    flat += [t for e in flat if isinstance(e, (list, tuple)) for t in e]
    tensors = [t for t in flat if isinstance(t, torch.Tensor)]
    assert tensors and all(t.grad_fn is None and not t.requires_grad for t in tensors)
