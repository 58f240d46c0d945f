"""The masked-LM adapter on a tiny randomly initialised ``transformers`` model (no download): its one-step
law is the model's softmax (exact enumeration, and sampled frequencies by a multinomial TV test at
STAT_ALPHA), chains end fully unmasked, the generator is the only randomness, every bad input is refused
before sampling, and the bring-your-own chain check runs through it (docs/llada.md's block included)."""
from __future__ import annotations

import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings, strategies as st

transformers = pytest.importorskip("transformers")   # the [hf] extra; the adapter itself does not import it

from estimators.multinomial_tv import multinomial_tv_radius  # noqa: E402
from estimators.multinomial_tv import min_gap_of_tvs_detectable_by_multinomial  # noqa: E402
from primitives.chain_samplers import trajectory_rejection_sample, unaligned_sample  # noqa: E402
from primitives.diffusion import ChainKernel, CountingKernel  # noqa: E402
from primitives.hf_masked_lm import HFMaskedLMKernel, TokenFrequencyReward, even_schedule  # noqa: E402
from tests.conftest import STAT_ALPHA  # noqa: E402
from tiltproof.byo import check_chain_sampler_on_kernel  # noqa: E402

VOCABULARY, MASK, POSITIONS = 12, 11, 16
ROOT = Path(__file__).resolve().parents[1]


def tiny_bert(seed: int = 0, max_positions: int = POSITIONS):
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=VOCABULARY, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                      intermediate_size=32, max_position_embeddings=max_positions)
    return transformers.BertForMaskedLM(config).eval()


@pytest.fixture(scope="module")
def model():
    return tiny_bert()


def model_softmax(model, prompt, response, temperature):
    """π_i(· | y) computed here from the model's own logits (mask id excluded), response positions only."""
    ids = torch.as_tensor([list(prompt) + list(response)])
    with torch.no_grad():
        logits = model(ids).logits[0, len(prompt):].to(torch.float64)
    logits[:, MASK] = -math.inf
    return torch.softmax(logits / temperature, -1)


def masked_state(length: int, masks: int, seed: int) -> torch.Tensor:
    """A response with ``masks`` masked positions (chosen and filled by a seeded numpy generator)."""
    rng = np.random.default_rng(seed)
    state = rng.integers(0, MASK, size=length)
    state[rng.choice(length, size=masks, replace=False)] = MASK
    return torch.as_tensor(state, dtype=torch.long)


def step_with_masks(kernel: HFMaskedLMKernel, masks: int) -> int | None:
    """The step t whose parents x_{t+1} have ``masks`` masks, if any."""
    return next((t for t in range(kernel.steps) if kernel.masks_at[t + 1] == masks), None)


# -- the one-step law --------------------------------------------------------------------------------------

@settings(max_examples=12)
@given(length=st.integers(2, 5), masks=st.integers(1, 5), k=st.integers(1, 3), prompt_length=st.integers(0, 3),
       temperature=st.sampled_from([0.5, 1.0, 2.0]), seed=st.integers(0, 10**6))
def test_random_order_law_is_the_closed_form_of_the_model_softmax(model, length, masks, k, prompt_length,
                                                                  temperature, seed):
    """order="random": child_law equals C(m, k)^{-1} Π_{i∈A} π_i(x_i | y), each π from the model's logits."""
    masks = min(masks, length)
    k = min(k, masks)
    schedule = [1] * (length - masks) + [k] + [1] * (masks - k)   # generation order: step L − masks + 1 unmasks k
    prompt = list(range(1, prompt_length + 1))
    kernel = HFMaskedLMKernel(model, MASK, length, schedule=schedule, prompt=prompt, temperature=temperature)
    t = step_with_masks(kernel, masks)
    assert kernel.counts[t] == k
    parent = masked_state(length, masks, seed)
    children, probs = kernel.child_law(parent, t)
    pi = model_softmax(model, prompt, parent.tolist(), temperature)
    assert children.shape[0] == math.comb(masks, k) * (VOCABULARY - 1) ** k
    assert math.isclose(float(probs.sum()), 1.0, rel_tol=1e-12)
    filled = children != parent[None]                                          # (A, L): the positions each fills
    assert bool((filled.sum(-1) == k).all()) and bool((parent[None].expand_as(filled)[filled] == MASK).all())
    factors = pi[torch.arange(length)[None, :], children]                        # π_i(x_i | y), (A, L)
    expected = torch.where(filled, factors, torch.ones_like(factors)).prod(-1) / math.comb(masks, k)
    assert torch.allclose(probs, expected, rtol=1e-9, atol=0.0)


@settings(max_examples=8)
@given(length=st.integers(2, 4), k=st.integers(1, 3), temperature=st.sampled_from([0.0, 0.7, 1.0]),
       seed=st.integers(0, 10**6))
def test_confidence_order_law_is_the_push_forward_of_the_model_softmax(model, length, k, temperature, seed):
    """order="confidence": child_law equals the law of 'draw v_i ~ π_i at every masked i, keep the k most
    confident (untempered softmax, ties leftmost)', enumerated here independently with plain Python."""
    masks = min(3, length)
    k = min(k, masks)
    schedule = [1] * (length - masks) + [k] + [1] * (masks - k)
    kernel = HFMaskedLMKernel(model, MASK, length, schedule=schedule, order="confidence", temperature=temperature)
    t = step_with_masks(kernel, masks)
    assert kernel.counts[t] == k
    parent = masked_state(length, masks, seed)
    with torch.no_grad():
        logits = model(parent[None]).logits[0].to(torch.float64)
    confidence = torch.softmax(logits, -1)
    if temperature == 0.0:
        restricted = logits.clone()
        restricted[:, MASK] = -math.inf
        pi = torch.nn.functional.one_hot(restricted.argmax(-1), VOCABULARY).to(torch.float64)
    else:
        pi = model_softmax(model, [], parent.tolist(), temperature)
    where = [i for i in range(length) if parent[i] == MASK]
    expected: dict[tuple, float] = {}
    for fill in itertools.product([v for v in range(VOCABULARY) if v != MASK], repeat=len(where)):
        weight = math.prod(float(pi[i, v]) for i, v in zip(where, fill))
        if weight == 0.0:
            continue
        ranked = sorted(range(len(where)), key=lambda j: (-float(confidence[where[j], fill[j]]), j))[:k]
        child = parent.tolist()
        for j in ranked:
            child[where[j]] = fill[j]
        expected[tuple(child)] = expected.get(tuple(child), 0.0) + weight
    children, probs = kernel.child_law(parent, t)
    got = {tuple(c.tolist()): float(p) for c, p in zip(children, probs)}
    assert got.keys() == {c for c, p in expected.items() if p > 0}
    for child, p in expected.items():
        assert math.isclose(got[child], p, rel_tol=1e-9, abs_tol=1e-15)


@settings(max_examples=8)
@given(seed=st.integers(0, 10**6), done=st.integers(0, 2), k=st.integers(1, 2))
def test_blocks_restrict_the_law_to_the_leftmost_unfinished_block(model, seed, done, k):
    """block_length = 3, L = 6: a parent whose first block has ``done`` tokens filled unmasks only inside
    that block, with the random-order closed form over it."""
    k = min(k, 3 - done)
    schedule = [1] * done + [k] + [1] * (3 - done - k) + [3]
    kernel = HFMaskedLMKernel(model, MASK, 6, schedule=schedule, block_length=3)
    parent = torch.full((6,), MASK)
    rng = np.random.default_rng(seed)
    parent[rng.choice(3, size=done, replace=False)] = torch.as_tensor(rng.integers(0, MASK, size=done))
    t = step_with_masks(kernel, 6 - done)
    assert kernel.counts[t] == k
    children, probs = kernel.child_law(parent, t)
    eligible = [i for i in range(3) if parent[i] == MASK]
    pi = model_softmax(model, [], parent.tolist(), 1.0)
    filled = children != parent[None]
    assert not bool(filled[:, 3:].any())
    assert children.shape[0] == math.comb(len(eligible), k) * (VOCABULARY - 1) ** k
    factors = pi[torch.arange(6)[None, :], children]
    expected = torch.where(filled, factors, torch.ones_like(factors)).prod(-1) / math.comb(len(eligible), k)
    assert torch.allclose(probs, expected, rtol=1e-9, atol=0.0)


@pytest.mark.parametrize("order", ["random", "confidence"])
@pytest.mark.parametrize("batched", [False, True])
def test_sampled_children_follow_the_exact_law(model, order, batched):
    """Frequencies of sample_children vs child_law: multinomial TV ≤ ½Σ√(p/n) + √(log(1/α)/2n) at α =
    STAT_ALPHA/4 (four parametrisations); n = 20 000 detects a TV of the stated gap w.p. ≥ 1 − 10⁻³. Both
    code paths: one parent with n children, and n identical parents with one child each."""
    alpha, n = STAT_ALPHA / 4, 20_000
    kernel = HFMaskedLMKernel(model, MASK, 4, schedule=1, prompt=[5, 6], order=order)
    parent = masked_state(4, 2, seed=3)
    children, probs = kernel.child_law(parent, 1)
    assert min_gap_of_tvs_detectable_by_multinomial(n, probs.numpy(), alpha=alpha, beta=1e-3) < 0.1
    generator = torch.Generator().manual_seed(11)
    if batched:
        draws = kernel.sample_children(parent.expand(n, -1), 1, 1, generator)[:, 0]
    else:
        draws = kernel.sample_children(parent[None], 1, n, generator)[0]
    match = (draws[:, None, :] == children[None]).all(-1)
    assert bool(match.any(-1).all()), "a child outside the exact support"
    frequencies = match.to(torch.float64).mean(0)
    tv = 0.5 * float((frequencies - probs).abs().sum())
    assert tv <= multinomial_tv_radius(n, alpha, probs=probs.numpy())


def test_the_frequency_test_rejects_the_other_unmasking_order(model):
    """Power of the test above: children drawn with order="confidence" against the exact random-order law.
    Their exact TV (by child_law) exceeds the multinomial test's detectable gap at β = STAT_ALPHA, so the
    rejection below fails with probability ≤ STAT_ALPHA."""
    alpha, n = STAT_ALPHA, 20_000
    parent = masked_state(4, 2, seed=3)
    claimed = HFMaskedLMKernel(model, MASK, 4, schedule=1, prompt=[5, 6], order="random")
    actual = HFMaskedLMKernel(model, MASK, 4, schedule=1, prompt=[5, 6], order="confidence")
    children, probs = claimed.child_law(parent, 1)
    other, other_probs = actual.child_law(parent, 1)
    index = (other[:, None, :] == children[None]).all(-1).to(torch.int64).argmax(-1)
    assert bool((children[index] == other).all())          # the confidence order's support lies inside
    true_tv = 0.5 * float((probs - torch.zeros_like(probs).index_add_(0, index, other_probs)).abs().sum())
    assert true_tv > min_gap_of_tvs_detectable_by_multinomial(n, probs.numpy(), alpha=alpha, beta=STAT_ALPHA)
    draws = actual.sample_children(parent[None], 1, n, torch.Generator().manual_seed(5))[0]
    frequencies = (draws[:, None, :] == children[None]).all(-1).to(torch.float64).mean(0)
    assert 0.5 * float((frequencies - probs).abs().sum()) > multinomial_tv_radius(n, alpha, probs=probs.numpy())


# -- whole chains --------------------------------------------------------------------------------------------

@settings(max_examples=12)
@given(length=st.integers(1, 6), data=st.data(), order=st.sampled_from(["random", "confidence"]),
       temperature=st.sampled_from([0.0, 0.8, 1.0]), prompt_length=st.integers(0, 4))
def test_chains_unmask_by_the_schedule_and_end_fully_unmasked(model, length, data, order, temperature, prompt_length):
    """Every level has M_t masks, children keep their parents' tokens, x_0 has none; with blocks of B, no
    block is touched before the blocks to its left are done (LLaDA's semi-autoregressive order)."""
    block = data.draw(st.sampled_from([b for b in range(1, length + 1) if length % b == 0]))
    cuts = sorted(data.draw(st.sets(st.integers(1, length - 1), max_size=length - 1)) if length > 1 else [])
    cuts = sorted(set(cuts) | set(range(block, length, block)))
    schedule = [b - a for a, b in zip([0] + cuts, cuts + [length])]
    kernel = HFMaskedLMKernel(model, MASK, length, schedule=schedule, prompt=[7] * prompt_length, order=order,
                              temperature=temperature, block_length=block)
    assert isinstance(kernel, ChainKernel) and kernel.steps == len(schedule)
    result = unaligned_sample(CountingKernel(kernel), 64, generator=torch.Generator().manual_seed(0),
                              record_states=True)
    for t, state in enumerate(result.states):
        assert bool(((state == MASK).sum(-1) == kernel.masks_at[t]).all())
        masked_blocks = (state == MASK).reshape(state.shape[0], length // block, block).any(-1)
        first = torch.where(masked_blocks.any(-1), masked_blocks.to(torch.int8).argmax(-1), length // block)
        later = torch.arange(length // block)[None, :] > first[:, None]
        assert bool((state.reshape(state.shape[0], length // block, block) == MASK).all(-1)[later].all())
        if t < kernel.steps:   # a child keeps every token its parent had
            parent = result.states[t + 1]
            kept = parent != MASK
            assert bool((state[kept] == parent[kept]).all())
    assert kernel.masks_at[kernel.steps] == length and list(reversed(kernel.counts)) == schedule
    assert not bool((result.samples == MASK).any())
    assert int(result.samples.min()) >= 0 and int(result.samples.max()) < VOCABULARY


def test_the_generator_is_the_only_randomness(model):
    kernel = HFMaskedLMKernel(model, MASK, 5, schedule=[2, 2, 1], order="confidence")

    def run(seed: int, global_seed: int) -> torch.Tensor:
        torch.manual_seed(global_seed)
        return unaligned_sample(kernel, 200, generator=torch.Generator().manual_seed(seed)).samples

    first = run(0, 1)
    assert torch.equal(first, run(0, 2))
    assert not torch.equal(first, run(1, 1))


def test_a_plain_module_returning_a_tensor_works():
    """No transformers in the call path: any nn.Module mapping (batch, length) ids to (batch, length, V)."""
    torch.manual_seed(1)
    module = torch.nn.Sequential(torch.nn.Embedding(6, 8), torch.nn.Linear(8, 6)).eval()
    kernel = HFMaskedLMKernel(module, 5, 3, schedule=[2, 1])
    samples = unaligned_sample(kernel, 50, generator=torch.Generator().manual_seed(0)).samples
    assert samples.shape == (50, 3) and not bool((samples == 5).any())
    _, probs = kernel.child_law(kernel.sample_prior(1)[0], 1)
    assert math.isclose(float(probs.sum()), 1.0, rel_tol=1e-12)


def test_device_argument(model):
    kernel = HFMaskedLMKernel(model, MASK, 3, device="cpu")
    assert kernel.device == torch.device("cpu")
    assert unaligned_sample(kernel, 4, generator=torch.Generator().manual_seed(0)).samples.device.type == "cpu"
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="device"):
            HFMaskedLMKernel(model, MASK, 3, device="cuda")
    with pytest.raises(ValueError, match="device"):
        HFMaskedLMKernel(model, MASK, 3, device="tpu")


@pytest.mark.gpu
def test_cuda_law_matches_cpu():
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    cpu = HFMaskedLMKernel(tiny_bert(), MASK, 4, schedule=2)
    gpu = HFMaskedLMKernel(tiny_bert().to("cuda"), MASK, 4, schedule=2, device="cuda")
    parent = masked_state(4, 4, seed=0)
    (a, p), (b, q) = cpu.child_law(parent, 1), gpu.child_law(parent.cuda(), 1)
    assert torch.equal(a, b.cpu()) and torch.allclose(p, q.cpu(), rtol=1e-4, atol=1e-7)
    samples = unaligned_sample(gpu, 100, generator=torch.Generator(device="cuda").manual_seed(0)).samples
    assert samples.device.type == "cuda" and not bool((samples == MASK).any())


# -- bad input ------------------------------------------------------------------------------------------------

class CallCounter(torch.nn.Module):
    """Counts the model's calls, to show refusals happen before any sampling."""

    def __init__(self, inner, transform=lambda logits: logits):
        super().__init__()
        self.inner, self.transform, self.calls = inner, transform, 0
        self.config = getattr(inner, "config", None)

    def forward(self, ids):
        self.calls += 1
        return self.transform(self.inner(ids).logits)


@pytest.mark.parametrize("transform, match", [
    (lambda logits: logits.transpose(1, 2), "logits of shape"),
    (lambda logits: logits[:, :, 0], "logits of shape"),
    (lambda logits: logits[:1], "logits of shape"),
    (lambda logits: logits * math.nan, "non-finite"),
    (lambda logits: "text", "model must return logits"),
])
def test_wrong_logits_are_refused_at_the_probe(model, transform, match):
    wrapped = CallCounter(model, transform).eval()
    with pytest.raises(ValueError, match=match):
        HFMaskedLMKernel(wrapped, MASK, 4)
    assert wrapped.calls == 1


@pytest.mark.parametrize("arguments, match", [
    (dict(mask_id=VOCABULARY), "mask_id"), (dict(mask_id=-1), "mask_id"), (dict(mask_id=1.5), "mask_id"),
    (dict(length=POSITIONS + 1), "length"), (dict(length=10, prompt=[1] * 7), "length"),
    (dict(length=2, prompt=[1] * POSITIONS), "prompt"), (dict(prompt=[MASK, 1]), "prompt"),
    (dict(prompt=[VOCABULARY]), "prompt"), (dict(prompt=[0.5]), "prompt"),
    (dict(length=0), "length"), (dict(schedule=[1, 1]), "schedule"), (dict(schedule=[2, 2, 1]), "schedule"),
    (dict(schedule=0), "schedule"), (dict(schedule=5), "schedule"), (dict(schedule=[2, 0, 2]), "schedule"),
    (dict(schedule="two"), "schedule"), (dict(order="left-to-right"), "order"),
    (dict(temperature=-1.0), "temperature"), (dict(temperature=math.inf), "temperature"),
    (dict(batch_size=0), "batch_size"), (dict(dtype=torch.int64), "dtype"),
    (dict(block_length=3), "block_length"), (dict(block_length=0), "block_length"),
    (dict(schedule=[3, 1], block_length=2), "schedule"), (dict(schedule=[1, 3], block_length=2), "schedule"),
])
def test_bad_arguments_are_refused(model, arguments, match):
    base = dict(mask_id=MASK, length=4, schedule=1)
    with pytest.raises(ValueError, match=match):
        HFMaskedLMKernel(model, **{**base, **arguments})


def test_models_that_cannot_be_used_are_refused(model):
    torch.manual_seed(0)
    with pytest.raises(ValueError, match="training mode"):
        HFMaskedLMKernel(tiny_bert().train(), MASK, 4)

    class ShortPositions(torch.nn.Module):     # no config: the probe finds the length it cannot take
        def __init__(self):
            super().__init__()
            self.tokens, self.positions = torch.nn.Embedding(VOCABULARY, 4), torch.nn.Embedding(6, 4)
            self.head = torch.nn.Linear(4, VOCABULARY)

        def forward(self, ids):
            return self.head(self.tokens(ids) + self.positions(torch.arange(ids.shape[1])))

    HFMaskedLMKernel(ShortPositions().eval(), MASK, 6)
    with pytest.raises(ValueError, match="length"):
        HFMaskedLMKernel(ShortPositions().eval(), MASK, 7)
    with pytest.raises(ValueError, match="model must be callable"):
        HFMaskedLMKernel("bert", MASK, 4)
    if torch.cuda.is_available():
        with pytest.raises(ValueError, match="device"):
            HFMaskedLMKernel(model, MASK, 4, device="cuda")


def test_bad_calls_are_refused(model):
    kernel = HFMaskedLMKernel(model, MASK, 4, schedule=[2, 2])
    prior = kernel.sample_prior(3)
    for parents, t, match in [(prior, 0, "masked positions"), (prior[:, :3], 1, "shape"),
                              (prior.to(torch.float32), 1, "integer"), (prior + 1, 1, r"token ids in \[0"),
                              (prior, 2, "t must")]:
        with pytest.raises(ValueError, match=match):
            kernel.sample_children(parents, t, 1)
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="n_children"):
            kernel.sample_children(prior, 1, bad)
        with pytest.raises(ValueError, match="n must"):
            kernel.sample_prior(bad)
    blocks = HFMaskedLMKernel(model, MASK, 4, schedule=[1, 1, 2], block_length=2)
    with pytest.raises(ValueError, match="not reachable"):   # two masks, but the first block's one is alone
        blocks.sample_children(torch.as_tensor([[1, MASK, 2, MASK]]), 0, 1)
    with pytest.raises(ValueError, match="parent"):
        HFMaskedLMKernel(model, MASK, 8, schedule=8).child_law(HFMaskedLMKernel(model, MASK, 8).sample_prior(1)[0], 0)


# -- helpers: schedule and reward --------------------------------------------------------------------------

@given(length=st.integers(1, 200), data=st.data())
def test_even_schedule_is_llada_s_split(length, data):
    steps = data.draw(st.integers(1, length))
    counts = even_schedule(length, steps)
    assert len(counts) == steps and sum(counts) == length
    assert max(counts) - min(counts) <= 1 and counts == sorted(counts, reverse=True)
    with pytest.raises(ValueError, match="steps"):
        even_schedule(length, length + 1)
    block = data.draw(st.sampled_from([b for b in range(1, length + 1) if length % b == 0]))
    blocks = length // block
    per_block = data.draw(st.integers(1, block))
    counts = even_schedule(length, blocks * per_block, block)
    assert counts == even_schedule(block, per_block) * blocks and sum(counts) == length
    with pytest.raises(ValueError, match="steps"):
        even_schedule(length, blocks * per_block + 1, block) if blocks > 1 else even_schedule(length, 0, block)


@given(rows=st.lists(st.lists(st.integers(0, VOCABULARY - 1), min_size=5, max_size=5), min_size=1, max_size=20),
       keywords=st.sets(st.integers(0, VOCABULARY - 1), min_size=1), height=st.floats(0.1, 10.0))
def test_token_frequency_reward_counts_keywords(rows, keywords, height):
    reward = TokenFrequencyReward(sorted(keywords), height)
    values = reward(torch.as_tensor(rows))
    for row, value in zip(rows, values.tolist()):
        assert math.isclose(value, height * sum(v in keywords for v in row) / len(row), rel_tol=1e-12)
        assert 0.0 <= value <= reward.sup
    for bad, match in [(dict(tokens=[]), "tokens"), (dict(tokens=[-1]), "tokens"), (dict(height=0.0), "height"),
                       (dict(height=math.nan), "height")]:
        with pytest.raises(ValueError, match=match):
            TokenFrequencyReward(**{"tokens": [1], "height": 1.0, **bad})


# -- the bring-your-own chain check through the adapter ----------------------------------------------------

def test_trajectory_reference_check_runs_through_the_adapter(model, one_torch_thread):
    """check_chain_sampler_on_kernel (trajectory reference) on the tiny model (confidence order): trajectory
    rejection passes, the unaligned chain fails (r = 2 × share of tokens {0, 1, 2}, λ = 1)."""
    kernel = HFMaskedLMKernel(model, MASK, 4, schedule=[2, 1, 1], prompt=[3, 4], order="confidence")
    reward = TokenFrequencyReward([0, 1, 2], 2.0)
    common = dict(budget=0.0, alpha=STAT_ALPHA, n=3000)
    good = check_chain_sampler_on_kernel(lambda k, n, g: trajectory_rejection_sample(k, reward, 1.0, n, generator=g),
                                         kernel, reward, 1.0, **common)
    assert good.verdict == "pass", str(good)
    bad = check_chain_sampler_on_kernel(lambda k, n, g: unaligned_sample(k, n, generator=g), kernel, reward, 1.0,
                                        **common)
    assert bad.verdict == "fail", str(bad)


def _doc_block(name: str) -> str:
    text = (ROOT / "docs" / "llada.md").read_text()
    found = re.search(rf"<!-- tested-block: {name} -->\s*```python\n(.*?)```", text, re.S)
    assert found, f"docs/llada.md has no tested block {name!r}"
    return found.group(1)


def test_llada_doc_block_runs_on_the_tiny_model(model, one_torch_thread, capsys):
    """docs/llada.md's adapter-and-check block, verbatim, with the tiny model in place of the loaded LLaDA."""
    namespace = dict(torch=torch, model=model, mask_id=MASK, prompt_ids=[3, 4, 5], keyword_ids=[0, 1, 2],
                     length=4, steps=4, block=2, n=3000, device="cpu", alpha=STAT_ALPHA)
    exec(compile(_doc_block("adapter"), "docs/llada.md", "exec"), namespace)
    records = namespace["records"]
    assert records["my sampler"].verdict == "pass", str(records["my sampler"])
    assert records["unaligned"].verdict == "fail", str(records["unaligned"])
    assert "my sampler pass" in capsys.readouterr().out


@pytest.mark.slow
def test_example_script_runs_end_to_end(one_torch_thread):
    """examples/verify_hf_masked_lm.py at STAT_ALPHA: the 2λ sampler's reward-KS gap (0.20, from the reward's
    law under p estimated on 10⁵ unaligned chains: an estimate, not exact) exceeds the detectable 0.197 at
    n = 3000."""
    from examples.verify_hf_masked_lm import run_demo

    verdicts = {name: record.verdict for name, record in run_demo(alpha=STAT_ALPHA).items()}
    assert verdicts == {"trajectory rejection (correct)": "pass", "unaligned (forgot to tilt)": "fail",
                        "trajectory rejection at 2λ (wrong temperature)": "fail"}
