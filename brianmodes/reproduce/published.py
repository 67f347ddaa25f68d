"""The published numbers the report compares with (SPEC 2), and the scales the experiments run at."""

#: Published test accuracy (%) of the spiking models, N x P (SPEC 2.1).
PUBLISHED_MNIST = {
    30: {1: 94.2, 3: 93.9, 10: 93.1, 30: 92.7, 100: 93.0, 200: 92.9},
    50: {1: 95.0, 3: 94.6, 10: 94.8, 30: 94.0, 100: 93.7, 200: 93.3},
    100: {1: 96.2, 3: 96.0, 10: 95.3, 30: 94.9, 100: 95.2, 200: 94.8},
    200: {1: 97.3, 3: 97.2, 10: 96.8, 30: 96.3, 100: 95.7, 200: 96.1},
}
#: Published importance slopes for MNIST N=100, P=30 (ranks 1-9 and 10-19).
PUBLISHED_SLOPES = (-0.10, -0.12)

SCALES = {
    "tiny": {"N": 30, "image_P": (1, 3), "context_P": (1, 3), "image_batches": 15, "context_batches": 15,
             "context_steps": 200, "eval_trials": 100, "prune_trials": 50, "n_random": 2},
    "quick": {"N": 100, "image_P": (1, 3, 10), "context_P": (1, 3), "image_batches": 300, "context_batches": 400,
              "context_steps": 500, "eval_trials": 2000, "prune_trials": 500, "n_random": 3},
    "full": {"N": 100, "image_P": (1, 3, 10, 30), "context_P": (1, 3, 10), "image_batches": 3000,
             "context_batches": 1500, "context_steps": 500, "eval_trials": None, "prune_trials": 2000, "n_random": 5},
}
