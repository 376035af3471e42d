"""Analysis jobs: each loads what it needs through monitor.store, runs a pure analysis and
saves the result. Every job module has `run(engine, settings, *, full=False) -> dict`."""
