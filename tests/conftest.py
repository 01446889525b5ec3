"""Hypothesis profiles: "dev" (default) and "ci" (derandomised, so CI runs are reproducible); the
lab's MNIST folder found for the tests (`shared_data.py`) and named in $GANLAB_MNIST_DIR.

Select with HYPOTHESIS_PROFILE=ci. Deadlines are off in both: quadrature-backed examples take
tens of milliseconds and timing on a shared 2-core machine is noisy. Each test still sets its
own max_examples.
"""

import os

from hypothesis import settings

from shared_data import ENV_VAR, shared_mnist_dir

if not os.environ.get(ENV_VAR) and shared_mnist_dir() is not None:  # the lab's copy, named as a user would
    os.environ[ENV_VAR] = str(shared_mnist_dir())

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
