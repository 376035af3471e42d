"""`monitor fetch`'s runner against the same code run one feed at a time.

    .venv/bin/python benchmarks/bench_fetch.py [--feeds 500] [--hosts 50] [--latency 0.1]

A separate process serves the feeds on `--hosts` loopback ports (a port is a host to the
politeness rules), answering each request after `--latency` seconds, with ETags. It counts
requests in flight per port, so the per-host limit is checked as the servers saw it.

Latency model: every answer (200 or 304) is held for a fixed `--latency` before it is sent,
standing in for a real feed server's time to first byte, which is typically 100 to 500 ms
(network round trips plus the server's own work). Loopback adds no bandwidth limit, so body
transfer is near free. Report at least 0.1 s (the optimistic end) and 0.3 s (a typical one).

Runs, each on a fresh SQLite database unless said otherwise:
  1. the runner with the default limits (per_host 2, global 32, host_delay 0.1 s);
  2. the same database again right away (--all): the share of 304 answers;
  3. the same runner with concurrency 1 and per_host 1: sequential.

Twice: "fetch stage" hands each body to a stand-in that stores nothing (what politeness and
concurrency can speed up: requests, schedule and health records), then "end to end" with
the real parse-and-store pipeline, whose CPU cost no fetch strategy can hide on 2 cores.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from make_feeds import feed_xml  # noqa: E402
from monitor.config import Feed, Fetch, Settings, Topic  # noqa: E402
from monitor.ingest import runner  # noqa: E402
from monitor.ingest.pipeline import DocumentOutcome  # noqa: E402
from monitor.ingest.runner import FetchOptions, run_fetch  # noqa: E402
from monitor.store import open_engine  # noqa: E402


def serve(ports_out, commands, replies, feeds: int, hosts: int, latency: float, items: int) -> None:
    """Child process: one asyncio HTTP/1.1 server per port; sends stats when asked."""
    rng = random.Random(7)
    bodies = {i: feed_xml(rng, i, items).encode() for i in range(feeds)}
    stats = {"in_flight": [0] * hosts, "max_in_flight": [0] * hosts, "status": {}}

    async def handle(host: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                index = int(lines[0].split(" ")[1].strip("/").split(".")[0])
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                stats["in_flight"][host] += 1
                stats["max_in_flight"][host] = max(stats["max_in_flight"][host], stats["in_flight"][host])
                await asyncio.sleep(latency)
                etag = f'"v1-{index}"'
                status, body = (304, b"") if headers.get("if-none-match") == etag else (200, bodies[index])
                stats["status"][status] = stats["status"].get(status, 0) + 1
                stats["in_flight"][host] -= 1
                writer.write(f"HTTP/1.1 {status} X\r\nContent-Type: application/rss+xml\r\n"
                             f"ETag: {etag}\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def run_servers() -> None:
        servers = [await asyncio.start_server(lambda r, w, h=h: handle(h, r, w), "127.0.0.1", 0,
                                              backlog=256) for h in range(hosts)]
        ports_out.send([s.sockets[0].getsockname()[1] for s in servers])
        loop = asyncio.get_running_loop()
        while await loop.run_in_executor(None, commands.get) != "stop":
            replies.put(json.dumps({"max_in_flight": max(stats["max_in_flight"]),
                                    "status": stats["status"]}))
            stats["status"], stats["max_in_flight"] = {}, [0] * hosts

    asyncio.run(run_servers())


class Servers:
    """The feed servers in their own process (so they do not share the client's GIL)."""

    def __init__(self, feeds: int, hosts: int, latency: float, items: int):
        ctx = multiprocessing.get_context("fork")
        parent, child = ctx.Pipe()
        self.commands, self.replies = ctx.Queue(), ctx.Queue()
        self.process = ctx.Process(target=serve, daemon=True, args=(
            child, self.commands, self.replies, feeds, hosts, latency, items))
        self.process.start()
        self.ports = parent.recv()

    def stats(self) -> dict:
        """Counters since the last call (then reset)."""
        self.commands.put("stats")
        return json.loads(self.replies.get(timeout=30))

    def stop(self) -> None:
        self.commands.put("stop")
        self.process.join(timeout=10)


def settings_for(ports: list[int], feeds: int, fetch: Fetch) -> Settings:
    feed_list = tuple(Feed(name=f"feed{i}", url=f"http://127.0.0.1:{ports[i % len(ports)]}/{i}.xml",
                           language="en") for i in range(feeds))
    topic = Topic(name="bench", languages=("en",), include={"en": ("credit",)})
    return Settings(topic=topic, feeds=feed_list, fetch=fetch)


def timed_run(db_path: Path, settings: Settings):
    engine = open_engine(f"sqlite:///{db_path}")
    started = time.perf_counter()
    report = run_fetch(engine, settings, FetchOptions(all_feeds=True))
    elapsed = time.perf_counter() - started
    engine.dispose()
    return elapsed, report


def stand_in_store(self, feed_id, ref, feed, result, fetched_at) -> DocumentOutcome:
    """Stores nothing; counts <item>s so the run still reports what it saw."""
    items = result.body.count(b"<item>")
    return DocumentOutcome(new_items=items, total_items=items, problem=None, kind="rss20",
                           ttl_minutes=None, title="")


def measure(servers: Servers, args, label: str) -> None:
    polite = Fetch(host_delay=0.1, retries=0)
    sequential = Fetch(host_delay=0.1, retries=0, concurrency=1, per_host=1)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        servers.stats()   # reset the counters
        concurrent_s, first = timed_run(tmp / "concurrent.db", settings_for(servers.ports, args.feeds, polite))
        first_stats = servers.stats()
        again_s, second = timed_run(tmp / "concurrent.db", settings_for(servers.ports, args.feeds, polite))
        second_stats = servers.stats()
        sequential_s, third = timed_run(tmp / "sequential.db",
                                        settings_for(servers.ports, args.feeds, sequential))
    answered = sum(second_stats["status"].values())
    share_304 = second_stats["status"].get("304", 0) / answered if answered else 0.0
    print(f"{label}:")
    print(f"  concurrent run : {concurrent_s:7.2f} s  ok={first.ok} failed={first.failed} "
          f"items={first.new_articles}  max in flight per host={first_stats['max_in_flight']}")
    print(f"  second run     : {again_s:7.2f} s  304 share={share_304:.1%} "
          f"(not modified={second.not_modified} of {second.feeds})")
    print(f"  sequential run : {sequential_s:7.2f} s  ok={third.ok} failed={third.failed}")
    print(f"  speed-up       : {sequential_s / concurrent_s:7.1f}x", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per response")
    parser.add_argument("--items", type=int, default=10, help="items per feed")
    parser.add_argument("--fetch-only", action="store_true", help="skip the end-to-end runs")
    args = parser.parse_args()

    servers = Servers(args.feeds, args.hosts, args.latency, args.items)
    print(f"{args.feeds} feeds on {args.hosts} loopback hosts, {args.latency * 1000:.0f} ms latency, "
          f"{args.items} items per feed; per_host 2, concurrency 32, host_delay 0.1 s", flush=True)
    try:
        real_store = runner.FeedFetcher._store
        runner.FeedFetcher._store = stand_in_store
        try:
            measure(servers, args, "fetch stage (stand-in store)")
        finally:
            runner.FeedFetcher._store = real_store
        if not args.fetch_only:
            measure(servers, args, "end to end (real parse and store)")
    finally:
        servers.stop()


if __name__ == "__main__":
    main()
