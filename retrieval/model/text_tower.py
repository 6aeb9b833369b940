"""Running open_clip's text tower on only as many token positions as the texts need.

Texts are padded to the context length (77 for most models), but the tower is causal: each
position attends only to those before it, and the embedding is read at the end-of-text
token. Positions after the longest text's end token cannot change the result, so cutting
them gives the same embedding for a fraction of the work (a query of 6 tokens runs 8
positions, not 77). tests/test_text_tower.py checks the equality against the full run.
"""

from __future__ import annotations

from typing import Any


def can_trim(model: Any) -> bool:
    """Only the plain CLIP text tower with a causal mask and end-token pooling qualifies."""
    import open_clip

    return (
        type(model) is open_clip.CLIP
        and getattr(model, "attn_mask", None) is not None
        and getattr(model, "text_pool_type", None) == "argmax"
    )


def encode_text(model: Any, tokens: Any) -> Any:
    """`model.encode_text(tokens)`, computed on the positions up to the last end token."""
    if not can_trim(model):
        return model.encode_text(tokens)
    # With 'argmax' pooling the end token has the highest id in each row.
    length = int(tokens.argmax(dim=-1).max().item()) + 1
    return trimmed_forward(model, tokens[:, :length])


def trimmed_forward(model: Any, tokens: Any) -> Any:
    """The tower on tokens already cut after the last end token (any length up to the
    context length; the ONNX export traces this with the length as a dynamic axis)."""
    import torch
    from open_clip.transformer import text_global_pool

    length = tokens.shape[1]
    cast_dtype = model.transformer.get_cast_dtype()
    x = model.token_embedding(tokens).to(cast_dtype)
    x = x + model.positional_embedding[:length].to(cast_dtype)
    x = model.transformer(x, attn_mask=model.attn_mask[:length, :length])
    x = model.ln_final(x)
    x = text_global_pool(x, tokens, model.text_pool_type)
    projection = model.text_projection
    if projection is None:
        return x
    if isinstance(projection, torch.nn.Linear):
        return projection(x)
    return x @ projection
