"""Trainable toys: what fine-tuning for a test-time strategy does, in seconds on a CPU (notebook 16).

`policy`: a softmax policy over each problem's candidate answers, ``softmax(base + features @ w)``,
with exact pass@N and best-of-N. `losses`: cross-entropy, capped CE, direct coverage optimisation
(Chen et al. 2025, arXiv:2502.07154), the best-of-N objective and its REINFORCE estimate (Chow et
al. 2024, arXiv:2412.15287), each with its gradient. `training`: gradient descent with checkpoints
and pass@N curves through them. `tasks`: a synthetic population, or a base model read from a
recorded sample bank. numpy only.
"""

from itslab.toys.losses import Loss, get
from itslab.toys.policy import AnswerTask, best_of_n, pass_at_n
from itslab.toys.tasks import synthetic_task, task_from_bank
from itslab.toys.training import TrainingRun, checkpoint_curves, train

__all__ = [
    "AnswerTask",
    "Loss",
    "TrainingRun",
    "best_of_n",
    "checkpoint_curves",
    "get",
    "pass_at_n",
    "synthetic_task",
    "task_from_bank",
    "train",
]
