"""itslab against its_hub (Red Hat AI Innovation Team's inference-time-scaling library), side by side.

Both run on the **same** llama-cpp-python OpenAI-compatible server (``python -m llama_cpp.server``,
Qwen2.5-Coder-0.5B-Instruct GGUF from the model registry), on the same GSM8K test problems, with
the same chat prompt (one system message, so the server's Jinja template and llama.cpp's
built-in renderer give the same text; checked and printed), T = 0.8 with no other filter
(top-k 0, top-p 1, min-p 0, repeat penalty 1: the server's own defaults add top-k 40, min-p 0.05
and a 1.1 repeat penalty; ``--server-sampling defaults`` keeps those for both instead), the same
token limit, and the same budget: self-consistency / majority vote over 8 samples, and best-of-8
with one scorer both can call — the self-evaluation judge prompt of `itslab.verifiers.SelfEvaluation`
scored as P(" Yes") / (P(" Yes") + P(" No")) from the server's top-20 logprobs of one generated token.
A third row runs itslab on its in-process llama.cpp engine (`LlamaCppGenerator`) on the same GGUF,
batching ``--batch-units`` problems per decode.

The token limit: its_hub sends only ``max_completion_tokens``, which llama-cpp-python's server
ignores (its request model has no such field), so an unpatched run generates until end-of-sequence
or the context is full. The benchmark subclasses its_hub's ``OpenAICompatibleLanguageModel`` and
copies the limit into ``max_tokens`` in the request body (``_prepare_request_data``) — the only
change to its_hub, together with the shared sampling fields. Everything else is its_hub's
documented use: ``SelfConsistency(consistency_space_projection_func=...)`` with a projection to the
final answer (here itslab's GSM8K answer extraction; a sample without an answer gets a vote of its
own, so "no answer" never wins), ``BestOfN(orm)`` with the default ``LMOrchestrator`` (32 concurrent
requests). llama-cpp-python's server decodes one request at a time (one model, one lock; ``n`` is
ignored): concurrency cannot batch there, so the in-process row is where batching shows. itslab's
server generator runs with ``logprobs=False``: its strategies ask for per-token logprobs by default,
and this server answers them by sorting the whole vocabulary in Python for every token (~0.17 CPU-s
per token here, several times the decode step), a cost its_hub never asks for. The server keeps
``logits_all`` on (the launcher's default, and the judge's top-20 logprobs need it) for all rows.

Run (full, ~2.5 h on 2 quiet cores): ``ITSLAB_DATA_DIR=/path/to/data python benchmarks/bench_vs_its_hub.py``;
quick check: ``--problems 3``. Needs ``pip install 'itslab[bench,llamacpp,http]'``.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import math
import os
import random
import time
from typing import Any, Sequence

SYSTEM = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant."  # Qwen2.5's default
NEUTRAL = {"top_p": 1.0, "top_k": 0, "min_p": 0.0, "repeat_penalty": 1.0}


def user_content(problem: Any) -> str:
    """The problem's user turn (itslab's GSM8K zero-shot prompt)."""
    turns = [m["content"] for m in problem.messages or () if m["role"] == "user"]
    return str(turns[-1]) if turns else str(problem.prompt)


def same_prompt_problems(problems: Sequence[Any]) -> list[Any]:
    """Problems whose plain prompt is their user turn and whose chat messages carry `SYSTEM`, so the
    server's chat route and the in-process template route render one text."""
    return [
        dataclasses.replace(
            p,
            prompt=user_content(p),
            messages=({"role": "system", "content": SYSTEM}, {"role": "user", "content": user_content(p)}),
        )
        for p in problems
    ]


class ServerJudge:
    """P(" Yes") of the self-evaluation judge prompt, from a server's top logprobs (one token, T = 0)."""

    def __init__(self, base_url: str, model: str, top: int = 20) -> None:
        self.url, self.model, self.top, self.fallbacks = f"{base_url}/completions", model, top, 0

    async def p_yes(self, client: Any, judge_prompt: str) -> float:
        body = {"model": self.model, "prompt": judge_prompt, "max_tokens": 1, "temperature": 0.0, "logprobs": self.top}
        r = await client.post(self.url, json=body)
        r.raise_for_status()
        top = r.json()["choices"][0]["logprobs"]["top_logprobs"][0]
        floor = min(top.values())  # a word outside the top list has at most the smallest listed logprob
        yes, no = top.get(" Yes"), top.get(" No")
        self.fallbacks += (yes is None) + (no is None)
        d = (floor if yes is None else yes) - (floor if no is None else no)
        return 1.0 / (1.0 + math.exp(-d)) if d >= 0 else math.exp(d) / (1.0 + math.exp(d))

    async def score_many(self, prompts: Sequence[str]) -> list[float]:
        import httpx

        async with httpx.AsyncClient(timeout=600.0) as client:
            return list(await asyncio.gather(*(self.p_yes(client, p) for p in prompts)))


def server_self_evaluation(judge: ServerJudge, counter: Any) -> Any:
    """itslab's `SelfEvaluation` (same prompt, same cost) scoring through `judge` instead of logprob_of."""
    from itslab.generators.http.generator import run_sync
    from itslab.verifiers import SelfEvaluation

    class ServerSelfEvaluation(SelfEvaluation):
        def score(self, problem, texts):
            return [(s,) for s in run_sync(judge.score_many([self.prefix(problem, t) for t in texts]))]

    return ServerSelfEvaluation(counter)


def its_hub_parts(base_url: str, model: str, max_tokens: int, temperature: float, sampling: dict, judge: ServerJudge):
    """its_hub's LM (with the token limit the server honours), its self-consistency and best-of-N."""
    from its_hub import AbstractOutcomeRewardModel, BestOfN, OpenAICompatibleLanguageModel, SelfConsistency

    from itslab.verifiers import SelfEvaluation

    class LimitedLM(OpenAICompatibleLanguageModel):
        def _prepare_request_data(self, *a: Any, **kw: Any) -> dict:
            data = super()._prepare_request_data(*a, **kw)
            data["max_tokens"] = data.get("max_completion_tokens", max_tokens)  # the field the server reads
            data.update(sampling)
            return data

    class JudgeORM(AbstractOutcomeRewardModel):
        problem: Any = None  # the problem being solved (set before each call)

        def score(self, messages, **kw):
            return asyncio.run(self.ascore(messages))

        async def ascore(self, messages, orchestrator=None, **kw):
            fmt = SelfEvaluation(None).prefix
            return await judge.score_many([fmt(self.problem, str(conv[-1].content or "")) for conv in messages])

    lm = LimitedLM(
        endpoint=base_url,
        api_key="none",
        model_name=model,
        system_prompt=SYSTEM,
        max_completion_tokens=max_tokens,
        temperature=temperature,
    )
    orm = JudgeORM()
    return lm, orm, {"sc": SelfConsistency, "bon": lambda **kw: BestOfN(orm, **kw)}


async def its_hub_solve(
    lm: Any, orm: Any, algos: dict, problem: Any, strategy: str, n: int
) -> tuple[str, int, float, float]:
    """One its_hub call: (final text, generated tokens, seconds, prompt tokens per generation call)."""
    from itslab.tasks.checking import answer_of

    def project(text: str) -> str:
        a = answer_of(problem, text)
        return a if a is not None else f"<no answer {random.random()}>"  # no shared "no answer" class

    algo = algos["sc"](consistency_space_projection_func=project) if strategy == "sc" else algos["bon"]()
    orm.problem = problem
    t0 = time.perf_counter()
    res = await algo.ainfer(lm, user_content(problem), budget=n, return_response_only=False)
    sec = time.perf_counter() - t0
    await lm.close_session()  # one HTTP session per event loop; this call's loop ends here
    u = res.usage
    return str(res.the_one.get("content") or ""), int(u.completion_tokens), sec, u.prompt_tokens / max(1, u.num_calls)


def itslab_solve(
    problems: Sequence[Any], strategy: str, n: int, args: Any, gen: Any, ver: Any, units: int
) -> tuple[Any, float]:
    """itslab's runner over `problems`: rows (problem_id, correct, generated tokens) and total seconds."""
    from itslab.experiments.runner import run

    name = {"sc": "majority_vote", "bon": "best_of_n"}[strategy]
    hyper = {"n": n, "max_tokens": args.max_tokens, "temperature": args.temperature}
    t0 = time.perf_counter()
    df = run(problems, [(name, hyper)], [n], [0], gen, ver, progress=False, batch_units=units)
    return df[["problem_id", "correct", "generated_tokens"]], time.perf_counter() - t0


def row(system: str, strategy: str, problem_id: str, seconds: float, tokens: Any, correct: Any) -> dict:
    """One table row: a system's result on one problem."""
    return dict(
        system=system,
        strategy=strategy,
        problem_id=problem_id,
        seconds=seconds,
        generated_tokens=int(tokens),
        correct=bool(correct),
    )


def check_prompts(vocab: Any, gen_inproc: Any, problem: Any) -> str:
    """Whether the server's Jinja template and the in-process renderer give one prompt text."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    m = vocab._model
    eos, bos = m.token_get_text(m.token_eos()), (m.token_get_text(m.token_bos()) if m.token_bos() != -1 else "")
    server = Jinja2ChatFormatter(vocab.metadata["tokenizer.chat_template"], eos, bos)(messages=list(problem.messages))
    local = gen_inproc.format_prompt(problem)
    return "identical" if server.prompt == local else f"DIFFERENT ({len(server.prompt)} vs {len(local)} chars)"


def table(rows: list[dict]) -> None:
    """Accuracy ± SE (Wilson 95% interval), tokens and seconds per problem, and ratios against its_hub."""
    import pandas as pd

    from itslab.scaling.frontiers import config_accuracy

    df = pd.DataFrame(rows)
    acc = config_accuracy(df, group=["strategy", "system"], cost=["generated_tokens", "seconds"])
    print(
        f"\n{'strategy':10s} {'system':28s} {'acc':>6s} {'se':>6s} {'95% Wilson':>14s} "
        f"{'tokens':>8s} {'s/problem':>10s}"
    )
    for r in acc.itertuples():
        ci = f"[{r.ci_low:.2f}, {r.ci_high:.2f}]"
        print(
            f"{r.strategy:10s} {r.system:28s} {r.accuracy:6.3f} {r.se:6.3f} {ci:>14s} "
            f"{r.generated_tokens:8.0f} {r.seconds:10.2f}"
        )
    print(
        "\nratios against its_hub on the server (same strategy; time ratio = its_hub s / itslab s, > 1 = itslab faster)"
    )
    for strat, g in df.groupby("strategy"):
        base = g[g.system == "its_hub (server)"].set_index("problem_id")
        for system, h in g[g.system != "its_hub (server)"].groupby("system"):
            h = h.set_index("problem_id").loc[base.index]
            d = h.correct.astype(float) - base.correct.astype(float)
            se = d.std(ddof=1) / math.sqrt(len(d)) if len(d) > 1 else float("nan")
            print(
                f"  {strat:4s} {system:28s} time {base.seconds.sum() / h.seconds.sum():5.2f}x  "
                f"tokens {h.generated_tokens.sum() / max(1, base.generated_tokens.sum()):5.2f}x  "
                f"accuracy difference {d.mean():+.3f} ± {se:.3f} (paired SE over problems)"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--problems", type=int, default=30, help="first N GSM8K test problems (>= 30 for the table)")
    ap.add_argument("--n", type=int, default=8, help="samples per problem (the budget of both strategies)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--temperature", type=float, default=0.8)
    ap.add_argument("--model", default="qwen2.5-coder-0.5b")
    ap.add_argument("--strategies", default="sc,bon", help="sc (self-consistency), bon (best-of-N), comma-separated")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1, help="llama.cpp threads, server and in-process")
    ap.add_argument("--batch-units", type=int, default=4, help="problems decoded together in-process")
    ap.add_argument("--server-sampling", choices=("neutral", "defaults"), default="neutral")
    ap.add_argument("--skip-inprocess", action="store_true")
    args = ap.parse_args()
    try:
        import its_hub
    except ImportError:
        raise SystemExit("its_hub is not installed: pip install 'itslab[bench]'") from None
    import llama_cpp

    from itslab import models, tasks
    from itslab.experiments.pool_memo import EngineCounter
    from itslab.generators.http import OpenAIGenerator
    from itslab.generators.http.servers import llama_cpp_python_server
    from itslab.generators.llamacpp import LlamaCppGenerator
    from itslab.tasks.checking import answer_of, check_answer
    from itslab.verifiers import SelfEvaluation

    strategies = args.strategies.split(",")
    problems = same_prompt_problems(tasks.load("gsm8k", limit=args.problems))
    path = models.gguf_path(args.model)
    sampling = NEUTRAL if args.server_sampling == "neutral" else {}
    vocab = llama_cpp.Llama(str(path), vocab_only=True, verbose=False)
    load0 = os.getloadavg()
    rows: list[dict] = []
    prompt_tokens: dict[str, float] = {}  # its_hub's prompt tokens per call, by problem (the server's count)
    srv = llama_cpp_python_server(
        args.model, n_ctx=2048, n_threads=args.threads, extra_args=["--n_threads_batch", str(args.threads)]
    )
    with srv:
        server_gen = OpenAIGenerator(
            srv.base_url,
            srv.model,
            api="chat",
            system_prompt=SYSTEM,
            extra_body=sampling,
            timeout=1800.0,
            tokenizer=lambda text: len(vocab.tokenize(text.encode(), add_bos=True, special=True)),
            logprobs=False,  # neither strategy reads them, and this server makes them dear (see above)
        )
        judge = ServerJudge(srv.base_url, srv.model)
        lm, orm, algos = its_hub_parts(srv.base_url, srv.model, args.max_tokens, args.temperature, sampling, judge)
        server_ver = server_self_evaluation(judge, server_gen)
        itslab_solve(problems[:1], "sc", 1, args, server_gen, None, 1)  # warm-up: weights paged in, prompt cached
        random.seed(0)  # its_hub breaks vote ties with the global `random`
        for p in problems:  # interleaved per problem, so a change in machine load hits both alike
            for s in strategies:
                text, toks, sec, prompt_tokens[p.id] = asyncio.run(its_hub_solve(lm, orm, algos, p, s, args.n))
                rows.append(row("its_hub (server)", s, p.id, sec, toks, check_answer(p, answer_of(p, text))))
                df, sec = itslab_solve([p], s, args.n, args, server_gen, server_ver if s == "bon" else None, 1)
                r = df.iloc[0]
                rows.append(row("itslab (server)", s, p.id, sec, r.generated_tokens, r.correct))
            print(f"  {p.id} done ({len(rows)} rows)", flush=True)
        asyncio.run(lm.close())
    prompt_check = "not checked"
    if not args.skip_inprocess:
        gen = LlamaCppGenerator(path, n_ctx=16384, max_batch=max(8, args.batch_units * args.n), n_threads=args.threads)
        prompt_check = check_prompts(vocab, gen, problems[0])
        same = sum(gen.count_tokens(gen.format_prompt(p)) == round(prompt_tokens[p.id]) for p in problems)
        prompt_check += f"; prompt tokens equal to its_hub's (server count) on {same} of {len(problems)} problems"
        counted = EngineCounter(gen)
        itslab_solve(problems[:1], "sc", 1, args, counted, None, 1)  # warm-up
        for s in strategies:
            df, sec = itslab_solve(problems, s, args.n, args, counted, SelfEvaluation(gen), args.batch_units)
            for r in df.itertuples():  # the batched run has one wall time: spread evenly over its problems
                rows.append(
                    row("itslab (in-process llama.cpp)", s, r.problem_id, sec / len(df), r.generated_tokens, r.correct)
                )
        gen.close()
    print(
        f"\nGSM8K test, first {len(problems)} problems; {args.model} ({path.name}); "
        f"n = {args.n}, T = {args.temperature}, "
        f"max_tokens {args.max_tokens} (enforced on both: its_hub's limit copied into max_tokens); "
        f"sampling {'neutral (top-k 0, top-p 1, min-p 0, no repeat penalty)' if sampling else 'server defaults'}; "
        f"its_hub {its_hub.__version__}, llama-cpp-python {llama_cpp.__version__}; {args.threads} llama.cpp threads; "
        f"{os.cpu_count()} CPU cores, load average {load0[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
        f"server vs in-process prompt text: {prompt_check}; judge answers outside the top-20: {judge.fallbacks}"
    )
    table(rows)


if __name__ == "__main__":
    main()
