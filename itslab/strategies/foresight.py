"""φ-Decoding: adaptive foresight sampling (Xu et al. 2025, arXiv:2503.13288, ACL 2025).

A step-level search that values a candidate step by a simulated future. At each depth every one
of the `n_beams` beams proposes `n_rollouts` candidate steps (one batched call, as the other
step searches do); in-width pruning drops candidates whose own step log-probability is low; each
surviving candidate is rolled out (its *foresight*); the step value joins the foresight's
advantage over the parent's foresight with the candidate's alignment, the share of foresights
that reach its answer; `n_beams` children are drawn from that joint distribution. In-depth
pruning stops stepping once most foresights agree. What follows the paper and the authors' code
(github.com/xufangzhi/phi-Decoding, ``phi_decoding.py``) and what differs: docs/methods.md, "φ-Decoding".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence, cast

import numpy as np

from itslab.budget import Budget
from itslab.protocols import STEP_DELIMITER, Generator, Verifier
from itslab.rng import draw_seed
from itslab.strategies import register
from itslab.strategies.base import Run, equivalence_classes, extract, step_finished
from itslab.strategies.search import Child, _children
from itslab.strategies.steps import candidate, check_step_hyper, score_nodes, select_answer
from itslab.trace import Candidate, Result
from itslab.types import Completion, Problem, Request

VALUES: tuple[str, ...] = ("logprob", "logprob_sum", "prm")


@dataclass(frozen=True)
class Foresight:
    """A candidate step's simulated future: the rollout's text and tokens, whether it reaches the
    end of the solution, the answer it reaches (None if it does not) and the value F it gives."""

    text: str
    n_tokens: int
    finished: bool
    answer: str | None
    value: float


def _softmax(x: Sequence[float] | np.ndarray) -> np.ndarray:
    z = np.asarray(x, dtype=float)
    e = np.exp(z - z.max())
    return e / e.sum()


def _log_value(comps: Sequence[Completion], how: str) -> float:
    """The generator's value of a rollout: mean token log-probability (the paper's F, which
    mitigates length bias) or the sum; 0.0 for no tokens."""
    if any(c.logprobs is None for c in comps):
        raise ValueError("phi_decoding: value='logprob' needs a generator that reports logprobs")
    lp, n = sum(c.logprob or 0.0 for c in comps), sum(c.n_tokens for c in comps)
    return float(lp) if how == "logprob_sum" else (float(lp) / n if n else 0.0)


def _sample(
    run: Run,
    rng: np.random.Generator,
    texts: Sequence[str],
    counts: Sequence[int],
    n_tokens: Sequence[int],
    *,
    last: bool,
    temperature: float,
    top_p: float,
    max_step_tokens: int,
    max_tokens: int,
    kind: str,
    info: dict,
) -> list[list[Completion]] | None:
    """`steps.expand` with log-probabilities requested (the value signal): one step per text, or
    the rest of the solution when `last`, in ONE batched call; one seed per text, drawn in order
    as `expand` draws them, so the same rng gives the same texts."""
    seeds = [draw_seed(rng) for _ in texts]
    reqs = [
        Request(
            prefix=run.prompt + t,
            n=int(k),
            max_tokens=max(1, max_tokens - u) if last else max_step_tokens,
            temperature=temperature,
            top_p=top_p,
            stop=() if last else (STEP_DELIMITER,),
            seed=s,
            logprobs=True,
        )
        for t, k, u, s in zip(texts, counts, n_tokens, seeds)
    ]
    return run.sample_batch(reqs, kind=kind, info={"last": last, **info})


def width_prune(step_lp: Sequence[float], m: int, sigma: float, rng: np.random.Generator, tau: float) -> list[int]:
    """In-width pruning (the authors' ``low_sigma``): keep candidates whose step log-probability
    is at least ``mean - sigma * std``; when fewer than `m` remain, top up by drawing from the rest
    without replacement, weighted by ``softmax(logp / tau)``. Sorted indices."""
    lp = np.asarray(step_lp, dtype=float)
    # >= where the authors write >: equal log-probabilities (std 0) keep every candidate
    keep = [i for i in range(len(lp)) if lp[i] >= lp.mean() - sigma * lp.std()]
    rest = [i for i in range(len(lp)) if i not in keep]
    if len(keep) < m and rest:
        w = np.maximum(_softmax(lp[rest] / tau), 1e-12)  # an underflowed weight would leave too few to draw
        w /= w.sum()
        keep += [rest[j] for j in rng.choice(len(rest), size=min(m - len(keep), len(rest)), replace=False, p=w)]
    return sorted(keep)


def _foresee(
    run: Run,
    rng: np.random.Generator,
    kids: Sequence[Child],
    step_lp: Sequence[float],
    hp: Mapping[str, Any],
    depth: int,
) -> list[Foresight] | None:
    """Each kid's foresight: none (depth 0: no signal, F = 0), `foresight_steps` sampled steps,
    or (None) the rest of the solution; a finished kid's future is its own step. None when the
    budget cannot pay for it."""
    k = hp["foresight_steps"]
    if k == 0:
        return [Foresight("", 0, kid.finished, None, 0.0) for kid in kids]
    ext, toks = [""] * len(kids), [kid.n_tokens for kid in kids]
    lps: list[list[Completion]] = [[] for _ in kids]
    done = [kid.finished for kid in kids]
    for j in range(1 if k is None else k):
        idx = [i for i in range(len(kids)) if not done[i]]
        if not idx:
            break
        outs = _sample(
            run,
            rng,
            [kids[i].text + ext[i] for i in idx],
            [1] * len(idx),
            [toks[i] for i in idx],
            last=k is None,
            temperature=hp["foresight_temperature"],
            top_p=hp["top_p"],
            max_step_tokens=hp["max_step_tokens"],
            max_tokens=hp["max_tokens"],
            kind="foresight",
            info={"depth": depth, "foresight_step": j + 1},
        )
        if outs is None:
            return None
        for i, o in zip(idx, outs):
            c = o[0]
            ext[i], toks[i] = ext[i] + c.text, toks[i] + c.n_tokens
            lps[i].append(c)
            done[i] = k is None or step_finished(c) or toks[i] >= hp["max_tokens"]
    if hp["value"] == "prm":
        sc = score_nodes(run, [kid.text + e for kid, e in zip(kids, ext)], hp["agg"], info={"depth": depth})
        if sc is None:
            return None
        values = sc[0]
    else:  # a finished kid has no future: its value is that of its own last step
        values = [_log_value(c, hp["value"]) if c else step_lp[i] for i, c in enumerate(lps)]
    return [
        Foresight(e, t - kid.n_tokens, d, extract(run.problem, kid.text + e) if d else None, v)
        for kid, e, t, d, v in zip(kids, ext, toks, done, values)
    ]


def step_weights(
    advantage: Sequence[float], answers: Sequence[str | None], tau: float, problem: Problem | None
) -> np.ndarray:
    """φ-Decoding's joint distribution over candidates, as the authors' code forms it: the mean of
    ``softmax(A / tau)`` (advantage) and ``softmax(|C(a)| / n)`` (alignment: the share of the
    foresights in the candidate's cluster; clusters are answers, a foresight without one is alone).

    >>> step_weights([0.0, 0.0], [None, None], 0.1, None).tolist()
    [0.5, 0.5]
    """
    cls = equivalence_classes(answers, problem)
    size = {c: cls.count(c) for c in set(cls) if c >= 0}
    share = [size.get(c, 1) / len(cls) if c >= 0 else 1 / len(cls) for c in cls]
    return (_softmax(np.asarray(advantage) / tau) + _softmax(share)) / 2.0


def _largest_share(fs: Sequence[Foresight], problem: Problem) -> float:
    cls = [c for c in equivalence_classes([f.answer for f in fs], problem) if c >= 0]
    return max((cls.count(c) for c in set(cls)), default=0) / max(1, len(fs))


def _per_beam(hyper: Mapping[str, Any]) -> int:
    """Completions one beam may cost: per step `n_rollouts` candidates and as many foresights
    (one call each step of foresight), plus one final completion."""
    k = hyper["foresight_steps"]
    calls = 1 if k is None else int(k)
    return int(hyper["max_steps"]) * int(hyper["n_rollouts"]) * (1 + calls) + 1


@register("phi_decoding", size="n_beams", rollout_samples=_per_beam)
def phi_decoding(
    problem: Problem,
    generator: Generator,
    verifier: Verifier | None,
    budget: Budget,
    rng: np.random.Generator,
    *,
    n_beams: int = 4,
    n_rollouts: int = 4,
    foresight_steps: int | None = None,
    value: str = "logprob",
    tau: float = 0.1,
    width_sigma: float | None = 1.0,
    depth_threshold: float | None = 0.69,
    min_depth: int = 4,
    temperature: float = 0.6,
    foresight_temperature: float = 1.0,
    top_p: float = 1.0,
    agg: str = "last",
    max_steps: int = 40,
    max_step_tokens: int = 256,
    max_tokens: int = 2048,
    select: str = "majority",
) -> Result:
    """φ-Decoding (Xu et al. 2025, arXiv:2503.13288): step-level foresight sampling.

    `n_beams` beams (the paper's M, ``step_beam_size``) each propose `n_rollouts` steps (N) at
    `temperature`; `width_sigma` prunes them (None: no in-width pruning); `foresight_steps` rolls
    each survivor out at `foresight_temperature` (None: to the end, as the paper; 0: no foresight,
    which with ``n_rollouts=1`` and no pruning is plain step-wise sampling of `n_beams` solutions);
    `value` is F: the generator's mean token log-probability (the paper), its sum, or a PRM's
    score (``"prm"``, aggregated by `agg`); a child is drawn by `step_weights` with `tau`.
    Once ``depth + 1 >= min_depth`` and the largest answer cluster holds `depth_threshold` of the
    foresights (None: never), stepping stops. A beam's final solution is its last foresight when
    that reached the end, else one completion; the answer is `select` over the finished solutions.
    Follows the paper and the authors' code in the candidates, low-σ width pruning, advantage,
    joint weights and cluster-share depth stop; differs in clustering answers (not TF-IDF K-means),
    letting finished beams leave, and reusing the last foresight as the final solution.
    """
    hp = dict(
        n_beams=n_beams,
        n_rollouts=n_rollouts,
        foresight_steps=foresight_steps,
        value=value,
        tau=tau,
        width_sigma=width_sigma,
        depth_threshold=depth_threshold,
        min_depth=min_depth,
        temperature=temperature,
        foresight_temperature=foresight_temperature,
        top_p=top_p,
        agg=agg,
        max_steps=max_steps,
        max_step_tokens=max_step_tokens,
        max_tokens=max_tokens,
        select=select,
    )
    _check(hp, verifier)
    run = Run("phi_decoding", problem, generator, verifier, budget)
    beams, toks, parent_value = [""] * n_beams, [0] * n_beams, [0.0] * n_beams  # the authors start at F = 0
    tails: list[Foresight | None] = [None] * n_beams
    completed: list[Candidate] = []
    stop = "max_steps"
    for depth in range(max_steps):
        last = depth == max_steps - 1
        outs = _sample(
            run,
            rng,
            beams,
            [n_rollouts] * len(beams),
            toks,
            last=last,
            temperature=temperature,
            top_p=top_p,
            max_step_tokens=max_step_tokens,
            max_tokens=max_tokens,
            kind="expand",
            info={"depth": depth},
        )
        if outs is None:
            stop = "budget"
            break
        kids = _children(beams, toks, outs, last, max_tokens)
        comps = [c for cs in outs for c in cs]
        step_lp = [_log_value([c], "logprob") if c.logprobs is not None else 0.0 for c in comps]
        m = len(beams)
        keep = width_prune(step_lp, m, width_sigma, rng, tau) if width_sigma is not None else list(range(len(kids)))
        fs = _foresee(run, rng, [kids[i] for i in keep], [step_lp[i] for i in keep], hp, depth)
        if fs is None:
            stop = "budget"
            break
        adv = [f.value - parent_value[kids[i].parent] for i, f in zip(keep, fs)]
        w = step_weights(adv, [f.answer for f in fs], tau, problem)
        # no draw when every candidate is taken: so zero foresight with one rollout per beam IS
        # step-wise sampling, the same rng stream as `expand` (the known-answer test)
        pick = (
            list(range(len(keep)))
            if len(keep) <= m
            else sorted(rng.choice(len(keep), size=m, replace=False, p=w).tolist())
        )
        share = _largest_share(fs, problem)
        beams, toks, parent_value, tails = [], [], [], []
        for j in pick:
            kid, f = kids[keep[j]], fs[j]
            if kid.finished:
                completed.append(candidate(problem, kid.text, True, f.value, None, depth=depth, n_tokens=kid.n_tokens))
            else:
                beams.append(kid.text)
                toks.append(kid.n_tokens)
                parent_value.append(f.value)
                tails.append(f)
        run.note(
            "select",
            {"depth": depth, "parents": [k.parent for k in kids], "kept": keep, "advantage": adv,
             "weights": w.tolist(), "picked": [keep[j] for j in pick], "largest_share": share},
        )  # fmt: skip
        if not beams:
            stop = "done"
            break
        if depth_threshold is not None and depth + 1 >= min_depth and share >= depth_threshold:
            stop = "depth_pruning"
            break
    completed += _finish(run, rng, beams, toks, tails, hp)
    answer, info = select_answer([c for c in completed if c.meta["finished"]], select, problem=problem)
    run.note("answer", {**info, "stop": stop})
    return run.finish(answer, completed, hyper=hp)


def _finish(
    run: Run, rng: np.random.Generator, beams: list[str], toks: list[int], tails: list[Foresight | None], hp: dict
) -> list[Candidate]:
    """The active beams' final solutions: the last foresight when it reached the end (a sample of
    the same continuation the authors' final generation draws), else one completion if it fits."""
    p, out = run.problem, []
    need = [i for i, t in enumerate(tails) if t is None or not t.finished]
    outs = None
    if need:
        outs = _sample(
            run,
            rng,
            [beams[i] for i in need],
            [1] * len(need),
            [toks[i] for i in need],
            last=True,
            temperature=hp["foresight_temperature"],
            top_p=hp["top_p"],
            max_step_tokens=hp["max_step_tokens"],
            max_tokens=hp["max_tokens"],
            kind="final",
            info={},
        )
    done = dict(zip(need, outs or [])) if outs is not None else {}
    for i, (b, t) in enumerate(zip(beams, tails)):
        if t is not None and t.finished:
            out.append(candidate(p, b + t.text, True, t.value, None, n_tokens=toks[i] + t.n_tokens, foresight=True))
        elif i in done:
            c = done[i][0]
            v = _log_value([c], "logprob") if c.logprobs is not None else None
            out.append(candidate(p, b + c.text, True, v, None, n_tokens=toks[i] + c.n_tokens))
        else:
            out.append(candidate(p, b, False, None, None, n_tokens=toks[i]))
    return out


def _check(hp: dict, verifier: Verifier | None) -> None:
    """Clear errors for bad hyper-parameters (the shared step checks, then φ-Decoding's own)."""
    if hp["value"] not in VALUES:
        raise ValueError(f"phi_decoding: value must be one of {', '.join(VALUES)}; got {hp['value']!r}")
    # the shared checks demand a PRM; only value="prm" uses one
    ver = verifier if hp["value"] == "prm" else cast(Verifier, verifier or object())
    check_step_hyper(
        "phi_decoding",
        ver,
        **{
            k: v
            for k, v in hp.items()
            if k in ("max_steps", "max_step_tokens", "max_tokens", "temperature", "agg", "select")
        },
    )
    for k in ("n_beams", "n_rollouts", "min_depth"):
        if not isinstance(hp[k], int) or hp[k] < 1:
            raise ValueError(f"phi_decoding: {k} must be an int >= 1, got {hp[k]!r}")
    k = hp["foresight_steps"]
    if k is not None and (not isinstance(k, int) or k < 0):
        raise ValueError(f"phi_decoding: foresight_steps must be None (to the end) or an int >= 0, got {k!r}")
    if not hp["tau"] > 0:
        raise ValueError(f"phi_decoding: tau must be > 0, got {hp['tau']!r}")
    if not hp["foresight_temperature"] >= 0:
        raise ValueError(f"phi_decoding: foresight_temperature must be >= 0, got {hp['foresight_temperature']!r}")
    if hp["width_sigma"] is not None and not hp["width_sigma"] >= 0:
        raise ValueError(f"phi_decoding: width_sigma must be None or >= 0, got {hp['width_sigma']!r}")
    if hp["depth_threshold"] is not None and not 0 < hp["depth_threshold"] <= 1:
        raise ValueError(f"phi_decoding: depth_threshold must be None or in (0, 1], got {hp['depth_threshold']!r}")
