"""Training: losses, regularisers, schedules, optimizers, methods, the engine and its runs."""
