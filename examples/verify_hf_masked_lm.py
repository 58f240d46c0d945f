"""Verify a sampler on a masked language model through the ``transformers`` adapter (no download).

A tiny ``BertForMaskedLM`` (vocabulary 12, mask id 11, one layer, randomly initialised with a fixed seed)
stands in for LLaDA: ``HFMaskedLMKernel`` wraps it as a ``ChainKernel`` (response of 4 tokens after a
2-token prompt, one position unmasked per step, LLaDA's random order), and three samplers of the aligned
law q_0 ∝ p_0 e^{r/λ}, r = 4 × share of the tokens {0, 1, 2}, λ = 1, are checked against trajectory
rejection on the model's own chain (exact by T1): the correct one passes, an unaligned one and one at 2λ
fail. Needs the ``hf`` extra (``pip install -e '.[hf]'``); about 10 s of CPU time::

    python examples/verify_hf_masked_lm.py

docs/llada.md shows the same with LLaDA-8B's weights.
"""
from __future__ import annotations

import sys
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from primitives.chain_samplers import trajectory_rejection_sample, unaligned_sample  # noqa: E402
from primitives.hf_masked_lm import HFMaskedLMKernel, TokenFrequencyReward  # noqa: E402
from tiltproof.byo import check_chain_sampler_on_kernel  # noqa: E402


def tiny_masked_lm(seed: int = 0):
    """A randomly initialised BERT masked LM built from a config (nothing downloaded)."""
    from transformers import BertConfig, BertForMaskedLM

    torch.manual_seed(seed)
    config = BertConfig(vocab_size=12, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16)
    return BertForMaskedLM(config).eval()


def run_demo(device: str = "cpu", n: int = 3000, alpha: float = 1e-6) -> dict:
    model = tiny_masked_lm().to(device)
    kernel = HFMaskedLMKernel(model, mask_id=11, length=4, schedule=1, prompt=[3, 4], device=device)
    reward = TokenFrequencyReward([0, 1, 2], height=4.0)
    samplers = {
        "trajectory rejection (correct)": lambda k, m, g: trajectory_rejection_sample(k, reward, 1.0, m, generator=g),
        "unaligned (forgot to tilt)": lambda k, m, g: unaligned_sample(k, m, generator=g),
        "trajectory rejection at 2λ (wrong temperature)":
            lambda k, m, g: trajectory_rejection_sample(k, reward, 2.0, m, generator=g),
    }
    return {name: check_chain_sampler_on_kernel(sampler, kernel, reward, 1.0, budget=0.0, n=n, alpha=alpha)
            for name, sampler in samplers.items()}


if __name__ == "__main__":
    for name, record in run_demo().items():
        print(f"== {name}\n{record}\n")
