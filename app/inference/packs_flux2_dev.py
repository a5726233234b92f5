"""A tiny FLUX.2 [dev] pack (Flux2Pipeline layout): Mistral3 text encoder, PixtralProcessor tokenizer folder.

Like `packs.py`: random weights, the published architecture shrunk, nothing downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from app.inference import packs

TINY_MISTRAL3_TEXT = {  # Mistral-Small-3.x text tower, shrunk; FLUX.2 Dev reads hidden states 10, 20 and 30
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 31,
    "num_attention_heads": 2,
    "num_key_value_heads": 1,
    "head_dim": 8,
    "max_position_embeddings": 1024,
    "rms_norm_eps": 1e-5,
}
TINY_PIXTRAL_VISION = {
    "hidden_size": 16,
    "intermediate_size": 32,
    "num_hidden_layers": 1,
    "num_attention_heads": 2,
    "head_dim": 8,
    "patch_size": 14,
    "image_size": 56,
}
TINY_FLUX2_DEV = {
    **packs.TINY_FLUX2,
    "joint_attention_dim": 3 * TINY_MISTRAL3_TEXT["hidden_size"],
    "guidance_embeds": True,
}
MISTRAL_SPECIAL_TOKENS = ["<unk>", "<s>", "</s>", "<pad>", "[IMG]", "[IMG_BREAK]", "[IMG_END]"]
MISTRAL_CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}{% for c in m['content'] %}"
    "{% if c['type'] == 'text' %}{% if m['role'] == 'system' %}[SYSTEM_PROMPT]{{ c['text'] }}[/SYSTEM_PROMPT]"
    "{% else %}[INST]{{ c['text'] }}[/INST]{% endif %}{% else %}[IMG]{% endif %}{% endfor %}{% endfor %}"
)


def write_pixtral_processor(folder: Path) -> tuple[int, int]:
    """FLUX.2 Dev's `tokenizer/` folder: a byte-level tokenizer with the Mistral chat tokens, and the
    processor/preprocessor configs of a PixtralProcessor. Returns (vocab size, [IMG] token id).

    The app reads only the tokenizer (text prompts; see loading.py), so neither writing nor loading
    needs torchvision, which transformers' PixtralProcessor requires.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from tokenizers.pre_tokenizers import ByteLevel
    from transformers import PreTrainedTokenizerFast

    alphabet = sorted(ByteLevel.alphabet())
    tok = Tokenizer(models.BPE(vocab={ch: i for i, ch in enumerate(alphabet)}, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(MISTRAL_SPECIAL_TOKENS)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<s>", eos_token="</s>", unk_token="<unk>", pad_token="<pad>"
    )
    fast.chat_template = MISTRAL_CHAT_TEMPLATE
    folder.mkdir(parents=True, exist_ok=True)
    fast.save_pretrained(str(folder))
    vision = TINY_PIXTRAL_VISION
    tokens = {"image_token": "[IMG]", "image_break_token": "[IMG_BREAK]", "image_end_token": "[IMG_END]"}
    processor = {"processor_class": "PixtralProcessor", "patch_size": vision["patch_size"], "spatial_merge_size": 2}
    preprocessor = {"image_processor_type": "PixtralImageProcessor", "processor_class": "PixtralProcessor"}
    preprocessor.update(patch_size={"height": 14, "width": 14}, size={"longest_edge": vision["image_size"]})
    processor.update(tokens)
    (folder / "processor_config.json").write_text(json.dumps(processor, indent=2))
    (folder / "preprocessor_config.json").write_text(json.dumps(preprocessor, indent=2))
    return tok.get_vocab_size(), tok.token_to_id("[IMG]")


def _mistral3(vocab_size: int, image_token_id: int, arch: dict | None = None):
    import transformers

    arch = arch or {}
    config = transformers.Mistral3Config(
        text_config={"model_type": "mistral", "vocab_size": vocab_size, **arch.get("text", TINY_MISTRAL3_TEXT)},
        vision_config={"model_type": "pixtral", **arch.get("vision", TINY_PIXTRAL_VISION)},
        image_token_index=image_token_id,
        spatial_merge_size=2,
    )
    return transformers.Mistral3ForConditionalGeneration(config).eval()


def make_flux2_dev(tokenizer_dir: Path, *, arch: dict | None = None, seed: int = 0):
    """A Flux2Pipeline (FLUX.2 Dev layout: Mistral3 text encoder, Pixtral processor, guidance embedding)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, Flux2Pipeline, Flux2Transformer2DModel

    arch = arch or {}
    packs._seed(seed)
    vocab, image_token = write_pixtral_processor(tokenizer_dir)
    pipe = Flux2Pipeline(
        scheduler=FlowMatchEulerDiscreteScheduler(**packs.FLUX2_SCHEDULER),
        vae=packs._vae_flux2(arch.get("vae")),
        text_encoder=_mistral3(vocab, image_token, arch.get("text_encoder")),
        tokenizer=packs._load_tokenizer(tokenizer_dir),
        transformer=Flux2Transformer2DModel(**arch.get("transformer", TINY_FLUX2_DEV)),
    )
    packs._randomize_zero_inits(pipe.transformer)
    return pipe


def build_flux2_dev(folder: Path, *, seed: int = 0, dtype: torch.dtype = torch.float32) -> Path:
    """A FLUX.2 Dev diffusers folder (Flux2Pipeline layout; the tokenizer listed as a PixtralProcessor)."""
    pipe = make_flux2_dev(folder / "tokenizer", seed=seed).to(dtype)
    pipe.save_pretrained(str(folder), safe_serialization=True)
    index_path = folder / "model_index.json"
    index = json.loads(index_path.read_text())
    index["tokenizer"] = ["transformers", "PixtralProcessor"]  # as in black-forest-labs/FLUX.2-dev
    index_path.write_text(json.dumps(index, indent=2))
    write_pixtral_processor(folder / "tokenizer")  # save_pretrained wrote the tokenizer alone
    return folder
