"""Ingest: fetch feeds, parse them, normalise entries into Articles, dedup and store.

The one entry point for stored documents is `monitor.ingest.pipeline.store_document`.
"""
