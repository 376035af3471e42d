"""The demo corpus files (package data): outlets.yaml and items_*.jsonl."""
