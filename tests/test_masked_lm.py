"""The learned masked-diffusion LM (``primitives.masked_lm``), its exact enumeration
(``primitives.masked_lm_exact``) and the text rewards: laws against independent routes, bad input."""
from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from estimators.multinomial_tv import multinomial_tv_radius
from primitives.masked_lm import (ALPHABETS, TINY_CONFIG, MaskedLMConfig, MaskedLMKernel, MaskedTokenModel,
                                  corpus_sequences, decode, encode, train_masked_lm)
from primitives.masked_lm_exact import EnumeratedMaskedLM
from primitives.text_rewards import ClassShareReward, KeywordReward
from tests.conftest import STAT_ALPHA


def _model(vocabulary: int = 3, length: int = 3, seed: int = 0) -> MaskedTokenModel:
    torch.manual_seed(seed)
    return MaskedTokenModel(vocabulary, length, width=8, layers=1, heads=2)


def _kernel(vocabulary: int = 3, length: int = 3, seed: int = 0, **kwargs) -> MaskedLMKernel:
    return MaskedLMKernel(_model(vocabulary, length, seed), length=length, mask_id=vocabulary, **kwargs)


# ---------------------------------------------------------------- corpus
def test_corpus_is_deterministic_and_in_the_alphabet():
    first, second = corpus_sequences(16), corpus_sequences(16)
    assert np.array_equal(first, second)
    assert first.shape[1] == 16 and first.shape[0] > 1000
    assert first.min() >= 0 and first.max() < len(ALPHABETS["letters"])
    classes = corpus_sequences(4, "classes")
    assert classes.max() < 3 and classes.shape[1] == 4


@given(st.text(alphabet=ALPHABETS["letters"], min_size=1, max_size=40))
def test_encode_decode_round_trip(text):
    assert decode(encode(text)) == text


# ---------------------------------------------------------------- bad input before sampling
class _WrongShape(torch.nn.Module):
    def __init__(self, shape_of):
        super().__init__()
        self.shape_of = shape_of

    def forward(self, tokens):
        return torch.zeros(self.shape_of(tokens))


@pytest.mark.parametrize("shape_of", [lambda x: (x.shape[0], x.shape[1]), lambda x: (x.shape[0], x.shape[1] + 1, 4),
                                      lambda x: (x.shape[0], x.shape[1], 1)])
def test_logits_of_the_wrong_shape_are_refused(shape_of):
    with pytest.raises(ValueError, match="model: logits"):
        MaskedLMKernel(_WrongShape(shape_of), length=3, mask_id=3)


def test_logits_that_change_shape_after_the_probe_are_refused():
    kernel = MaskedLMKernel(_WrongShape(lambda x: (x.shape[0], x.shape[1], 4 if x.shape[0] == 1 else 5)),
                            length=3, mask_id=3)
    with pytest.raises(ValueError, match="model: logits"):
        kernel.sample_children(torch.tensor([[3, 0, 3], [3, 1, 3]]), 1, 1)


@pytest.mark.parametrize("mask_id", [-1, 4, 7, 1.0, True])
def test_mask_id_outside_the_vocabulary_is_refused(mask_id):
    with pytest.raises(ValueError, match="mask_id"):
        MaskedLMKernel(_model(), length=3, mask_id=mask_id)


@pytest.mark.parametrize("length", [4, 100])
def test_length_the_model_cannot_take_is_refused(length):
    with pytest.raises(ValueError, match="length"):
        MaskedLMKernel(_model(length=3), length=length, mask_id=3)


@pytest.mark.parametrize("kwargs,name", [(dict(unmask=2), "unmask"), (dict(unmask=0), "unmask"),
                                         (dict(temperature=0.0), "temperature"), (dict(length=0), "length")])
def test_bad_settings_are_refused(kwargs, name):
    arguments = dict(length=3, mask_id=3) | kwargs
    with pytest.raises(ValueError, match=name):
        MaskedLMKernel(_model(), **arguments)


def test_parents_with_the_wrong_mask_count_are_refused():
    kernel = _kernel()
    with pytest.raises(ValueError, match="parents"):
        kernel.sample_children(kernel.sample_prior(2), 1, 1)
    with pytest.raises(ValueError, match="parents"):
        kernel.sample_children(torch.full((2, 3), 9), 2, 1)


# ---------------------------------------------------------------- the kernel's law
def test_children_follow_the_enumerated_kernel_law():
    """Empirical children of one parent vs ``kernel_atoms`` (multinomial TV radius at STAT_ALPHA)."""
    kernel = _kernel(unmask=1)
    parent = torch.tensor([[3, 1, 3]])
    atoms = kernel.kernel_atoms(1, parent)
    probs = torch.exp(atoms.log_probs[0])
    assert math.isclose(float(probs.sum()), 1.0, rel_tol=1e-12)
    n = 40_000
    children = kernel.sample_children(parent, 1, n, torch.Generator().manual_seed(3))[0]
    codes = {tuple(a.tolist()): i for i, a in enumerate(atoms.atoms[0]) if probs[i] > 0}
    counts = np.zeros(len(probs))
    for child in children.tolist():
        counts[codes[tuple(child)]] += 1
    support = probs.numpy() > 0
    tv = 0.5 * np.abs(counts[support] / n - probs.numpy()[support]).sum()
    assert tv <= multinomial_tv_radius(n, STAT_ALPHA, probs=probs.numpy()[support])


def test_several_positions_per_step_unmask_exactly_k():
    kernel = _kernel(vocabulary=3, length=4, unmask=2)
    x = kernel.sample_prior(50)
    for t in reversed(range(kernel.steps)):
        x = kernel.sample_children(x, t, 1, torch.Generator().manual_seed(t))[:, 0]
        assert bool(((x == kernel.mask).sum(-1) == t * 2).all())
    assert int(x.max()) < 3


# ---------------------------------------------------------------- exact enumeration
def _x0_law_by_orders(kernel: MaskedLMKernel) -> dict[tuple, float]:
    """p_0 by summing over every unmasking order and token path: an independent route to the enumeration."""
    length, vocabulary = kernel.length, kernel.vocabulary_size
    law: dict[tuple, float] = {}
    for order in itertools.permutations(range(length)):
        for tokens in itertools.product(range(vocabulary), repeat=length):
            state = [kernel.mask] * length
            log_p = -math.log(math.factorial(length))
            for position in order:
                log_probs = kernel.token_log_probs(torch.tensor([state]))[0, position]
                log_p += float(log_probs[tokens[position]])
                state[position] = tokens[position]
            law[tuple(state)] = law.get(tuple(state), 0.0) + math.exp(log_p)
    return law


def test_enumerated_x0_law_matches_the_sum_over_unmasking_orders():
    kernel = _kernel(vocabulary=2, length=3, seed=4)
    chain = EnumeratedMaskedLM(kernel)
    law = _x0_law_by_orders(kernel)
    for sequence, p in zip(chain.sequences.tolist(), chain.probs.tolist()):
        assert math.isclose(p, law[tuple(sequence)], rel_tol=1e-6)   # float32 logits: batch-dependent rounding
    for t in range(chain.steps + 1):
        assert math.isclose(float(chain.level_states(t)[1].sum()), 1.0, rel_tol=1e-12)


@settings(max_examples=5)
@given(st.floats(0.2, 5.0), st.integers(0, 3))
def test_soft_values_meet_the_soft_value_identity(lam, seed):
    kernel = _kernel(vocabulary=2, length=3, seed=seed)
    chain = EnumeratedMaskedLM(kernel)
    reward = ClassShareReward(2.0, token=1)
    root = chain.soft_value(chain.sample_prior(1), chain.steps, reward, lam)
    assert math.isclose(float(root[0]) / lam, chain.log_partition(reward, lam), rel_tol=1e-9, abs_tol=1e-12)
    for t in range(chain.steps):
        parents, _ = chain.level_states(t + 1)
        atoms = kernel.kernel_atoms(t, parents)
        flat = atoms.atoms.reshape(-1, chain.length)
        child = torch.nan_to_num(chain.soft_value(flat, t, reward, lam).reshape(atoms.log_probs.shape), nan=0.0)
        expected = lam * torch.logsumexp(atoms.log_probs + child / lam, -1)
        assert torch.allclose(chain.soft_value(parents, t + 1, reward, lam), expected, rtol=1e-10, atol=1e-12)


def test_enumeration_refuses_what_it_cannot_list():
    with pytest.raises(ValueError, match="unmask"):
        EnumeratedMaskedLM(_kernel(vocabulary=2, length=4, unmask=2))
    with pytest.raises(ValueError, match="max_states"):
        EnumeratedMaskedLM(_kernel(vocabulary=2, length=3), max_states=10)
    with pytest.raises(ValueError, match="kernel"):
        EnumeratedMaskedLM("not a kernel")


# ---------------------------------------------------------------- rewards
@given(st.lists(st.text(alphabet=ALPHABETS["letters"], min_size=8, max_size=8), min_size=1, max_size=10))
def test_keyword_reward_matches_substring_search(lines):
    reward = KeywordReward(3.0, ("file", "path"))
    states = torch.as_tensor(np.stack([encode(line) for line in lines]))
    expected = [3.0 if ("file" in line or "path" in line) else 0.0 for line in lines]
    assert reward(states).tolist() == expected
    assert reward.sup == 3.0


@given(st.lists(st.lists(st.integers(0, 3), min_size=4, max_size=4), min_size=1, max_size=10))
def test_class_share_reward_counts_the_token(rows):
    reward = ClassShareReward(2.0, token=1)
    values = reward(torch.tensor(rows))
    assert values.tolist() == [2.0 * row.count(1) / 4 for row in rows]


@pytest.mark.parametrize("make", [lambda: KeywordReward(0.0), lambda: KeywordReward(1.0, "file"),
                                  lambda: KeywordReward(1.0, ("File",)), lambda: ClassShareReward(math.inf),
                                  lambda: ClassShareReward(1.0, token=-1)])
def test_bad_reward_arguments_are_refused(make):
    with pytest.raises(ValueError):
        make()


# ---------------------------------------------------------------- training and the cache
def test_training_is_cached_and_deterministic(tmp_path):
    config = MaskedLMConfig(alphabet="classes", length=3, width=8, layers=1, heads=2, iterations=20, batch=32)
    first = train_masked_lm(config, cache_dir=tmp_path)
    second = train_masked_lm(config, cache_dir=tmp_path)
    assert not first.training["loaded"] and second.training["loaded"]
    probe = torch.tensor([[3, 0, 3], [1, 3, 2]])
    assert torch.equal(first.token_log_probs(probe), second.token_log_probs(probe))
    again = train_masked_lm(config, cache_dir=tmp_path / "other")
    assert torch.equal(first.token_log_probs(probe), again.token_log_probs(probe))


def test_tiny_config_is_enumerable():
    assert (len(ALPHABETS[TINY_CONFIG.alphabet]) + 1) ** TINY_CONFIG.length <= 100_000


@settings(max_examples=15)
@given(st.lists(st.lists(st.integers(0, 27), min_size=8, max_size=8), min_size=1, max_size=6))
def test_keyword_features_count_compatible_windows(rows):
    """Against a literal loop over keywords, windows and letters (mask id 27)."""
    keywords = ("file", "dir")
    reward = KeywordReward(1.0, keywords)
    features = reward.features(torch.tensor(rows), 27)
    for row, got in zip(rows, features.tolist()):
        expected = []
        for word in keywords:
            ids = encode(word).tolist()
            counts = [0] * (len(ids) + 1)
            for start in range(len(row) - len(ids) + 1):
                window = row[start:start + len(ids)]
                if all(w == 27 or w == c for w, c in zip(window, ids)):
                    counts[sum(w == 27 for w in window)] += 1
            expected += counts
        expected.append(row.count(27) / len(row))
        assert got == pytest.approx(expected)


def test_soft_values_can_be_fitted_on_given_features():
    """``fit_soft_values(features=…)`` encodes every state through the features (and only them)."""
    from learning.chain_baseline import fit_soft_values

    kernel = _kernel(vocabulary=3, length=3)
    reward = ClassShareReward(1.0, token=1)
    seen = []

    def features(states):
        seen.append(states.shape[0])
        return torch.stack([(states == token).double().sum(-1) for token in range(4)], -1)

    values, queries = fit_soft_values(kernel, reward, 1.0, parents=32, children=4, iterations=5, hidden=8,
                                      features=features, generator=torch.Generator().manual_seed(0))
    assert seen and queries > 0
    calls = len(seen)
    out = values(kernel.sample_prior(5), kernel.steps)
    assert len(seen) == calls + 1 and out.shape == (5,)
    assert bool(((out >= 0.0) & (out <= 1.0)).all())          # clamped to [inf r, sup r]
