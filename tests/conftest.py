"""Hypothesis profiles: "dev" (default) and "ci" (derandomised, so CI runs are reproducible).

Select with HYPOTHESIS_PROFILE=ci. Deadlines are off in both: quadrature-backed examples take
tens of milliseconds and timing on a shared 2-core machine is noisy. Each test still sets its
own max_examples.
"""

import os

from hypothesis import settings

settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))
