"""The offline demo: a bundled corpus served as feeds on loopback and run through the pipeline."""
