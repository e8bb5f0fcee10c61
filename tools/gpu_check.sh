#!/usr/bin/env bash
# The GPU checks of issue #21 §4 as one command for a lent GPU machine: the `gpu`-marked tests (the
# transformers engine's CUDA path, the generator contract on CUDA, the reward models on CUDA) and the
# engine's generation benchmark, on a seeded random-initialised model with the embedded SmolLM2-135M's
# tokenizer (weights cannot travel: the working tree sent there is capped at 64 MiB).
#
#   here:   tools/gpu_check.sh --prepare     # copies tokenizer + config.json and the first GSM8K test
#                                            # question into .gpu/ (git-ignored through .git/info/exclude)
#   there:  bash tools/gpu_check.sh          # with .gpu carried; logs go to $OUT (else /tmp/gpu-check)
#
# The machine has PyTorch and transformers but no vLLM (a wheel of several hundred MB cannot travel),
# so the vLLM backend is not checked there: env.txt records the failed import.
set -u
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--prepare" ]; then
    src=$(.venv/bin/python -c 'from itslab import models; print(models.model_dir("smollm2-135m") / "hf-bf16")')
    data=${ITSLAB_DATA_DIR:-../shared/data}
    grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
    rm -rf .gpu && mkdir -p .gpu/smollm2-135m .gpu/data/gsm8k
    cp "$src"/{config.json,generation_config.json,tokenizer.json,tokenizer_config.json,chat_template.jinja} .gpu/smollm2-135m/
    head -n 1 "$data/gsm8k/test.jsonl" > .gpu/data/gsm8k/test.jsonl
    du -sh .gpu
    exit 0
fi
out=${OUT:-/tmp/gpu-check}
mkdir -p "$out"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 ITSLAB_TOKENIZER_DIR=$PWD/.gpu/smollm2-135m ITSLAB_DATA_DIR=$PWD/.gpu/data
py=${PYTHON:-python3}
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
    $py -c 'import sys, torch, transformers; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__)'
    $py -c 'import vllm' 2>&1 | tail -n 1
} 2>&1 | tee "$out/env.txt"
# -W default: report warnings from this machine's library versions rather than fail on them
timeout 300 $py -m pytest -m gpu -p no:cacheprovider -W default -rA -q \
    tests/generators/test_hf_cuda.py tests/generators/test_generator_contract.py \
    tests/verifiers/test_reward_models.py 2>&1 | tee "$out/pytest.log"
tests_rc=${PIPESTATUS[0]}
bench="$py benchmarks/bench_generation.py --device cuda --random-init --model-dir .gpu/smollm2-135m"
timeout 150 $bench 2>&1 | tee "$out/bench_32.log"
timeout 150 $bench --samples 256 --max-batch 256 2>&1 | tee "$out/bench_256.log"
echo "gpu-marked tests exit status: $tests_rc"
exit "$tests_rc"
