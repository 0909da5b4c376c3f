"""Signalling relay benchmark: N rooms x 2 clients against two server processes that share
the Redis channel layer, with the raw Redis PUBLISH -> subscriber round trip as the floor.

    REDIS_URL=redis://127.0.0.1:6379/0 .venv/bin/python bench/signalling.py [--rooms 10,100,1000]

For each N: every doctor connects to server A and every family member to server B (so every
relayed message crosses Redis), the doctor admits, then each room exchanges an offer, an
answer and ICE candidates both ways. Prints relay latency p50/p95/p99, messages/s, the Redis
floor measured in the same run, and the ratio. Only 127.0.0.1 is contacted.
"""

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis.asyncio as aioredis  # noqa: E402
import websockets  # noqa: E402

from tests.e2e.harness import free_port, seed_rooms, server_env, start_server, stop  # noqa: E402

ICE_PER_SIDE = 8
SDP = "v=0\r\n" + "a=candidate-placeholder\r\n" * 120  # about 3 KB, like a real offer


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


async def next_of(ws, kind: str, timeout: float = 30) -> dict:
    async def wait():
        while True:
            message = json.loads(await ws.recv())
            if message["type"] == kind:
                return message
            if message["type"] == "error":
                raise RuntimeError(f"server error while waiting for {kind}: {message}")

    return await asyncio.wait_for(wait(), timeout)


async def relay_room(doctor, family, latencies: list[float]) -> int:
    """Offer, answer and ICE both ways; returns how many messages were relayed."""
    sent_at = time.perf_counter()
    await doctor.send(json.dumps({"type": "offer", "sdp": f"{SDP}t={sent_at}"}))
    offer = await next_of(family, "offer")
    latencies.append(time.perf_counter() - float(offer["sdp"].rsplit("t=", 1)[1]))
    sent_at = time.perf_counter()
    await family.send(json.dumps({"type": "answer", "sdp": f"{SDP}t={sent_at}"}))
    answer = await next_of(doctor, "answer")
    latencies.append(time.perf_counter() - float(answer["sdp"].rsplit("t=", 1)[1]))

    async def burst(sender, receiver):
        for index in range(ICE_PER_SIDE):
            candidate = {"candidate": f"candidate:{index} 1 udp 2122260223 127.0.0.1 {50000 + index} typ host", "sdpMid": "0", "sdpMLineIndex": 0, "t": time.perf_counter()}
            await sender.send(json.dumps({"type": "ice", "candidate": candidate}))
        for _ in range(ICE_PER_SIDE):
            message = await next_of(receiver, "ice")
            latencies.append(time.perf_counter() - message["candidate"]["t"])

    await asyncio.gather(burst(doctor, family), burst(family, doctor))
    return 2 + 2 * ICE_PER_SIDE


async def run_rooms(rooms: list[dict], ports: tuple[int, int]) -> dict:
    limit = asyncio.Semaphore(64)

    async def join(room):
        async with limit:
            cid = room["consultation"]
            doctor = await websockets.connect(f"ws://127.0.0.1:{ports[0]}/ws/consultations/{cid}/?ticket={room['doctor']['ticket']}", max_size=2**20)
            await next_of(doctor, "state")
            family = await websockets.connect(f"ws://127.0.0.1:{ports[1]}/ws/consultations/{cid}/?ticket={room['family']['ticket']}", max_size=2**20)
            await next_of(family, "state")
            await next_of(doctor, "presence")
            await doctor.send(json.dumps({"type": "admit"}))
            await next_of(family, "admitted")
            return doctor, family

    started = time.perf_counter()
    pairs = await asyncio.gather(*(join(room) for room in rooms))
    joined_in = time.perf_counter() - started
    latencies: list[float] = []
    started = time.perf_counter()
    counts = await asyncio.gather(*(relay_room(doctor, family, latencies) for doctor, family in pairs))
    elapsed = time.perf_counter() - started
    for doctor, family in pairs:
        await doctor.close()
        await family.close()
    return {"latencies": latencies, "messages": sum(counts), "elapsed": elapsed, "joined_in": joined_in}


async def idle_relay(room: dict, ports: tuple[int, int], samples: int = 300) -> list[float]:
    """One admitted room, one message at a time: the relay latency without queueing."""
    cid = room["consultation"]
    doctor = await websockets.connect(f"ws://127.0.0.1:{ports[0]}/ws/consultations/{cid}/?ticket={room['doctor']['ticket']}")
    await next_of(doctor, "state")
    family = await websockets.connect(f"ws://127.0.0.1:{ports[1]}/ws/consultations/{cid}/?ticket={room['family']['ticket']}")
    await next_of(family, "state")
    await doctor.send(json.dumps({"type": "admit"}))
    await next_of(family, "admitted")
    latencies = []
    for index in range(samples):
        sent = time.perf_counter()
        await doctor.send(json.dumps({"type": "ice", "candidate": {"candidate": f"candidate:{index} 1 udp 1 127.0.0.1 9 typ host"}}))
        await next_of(family, "ice")
        latencies.append(time.perf_counter() - sent)
    await doctor.close()
    await family.close()
    return latencies


async def redis_floor(url: str, samples: int = 2000) -> list[float]:
    """PUBLISH -> subscriber latency on the same Redis, one message at a time."""
    client = aioredis.from_url(url)
    pubsub = client.pubsub()
    await pubsub.subscribe("bench:floor")
    await pubsub.get_message(timeout=1)
    latencies = []
    for _ in range(samples):
        sent = time.perf_counter()
        await client.publish("bench:floor", str(sent))
        while True:
            message = await pubsub.get_message(timeout=5)
            if message and message["type"] == "message":
                latencies.append(time.perf_counter() - float(message["data"]))
                break
    await pubsub.unsubscribe("bench:floor")
    await pubsub.aclose()
    await client.aclose()
    return latencies


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.2f}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rooms", default="10,100,1000", help="comma-separated room counts")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        print("Set REDIS_URL (e.g. redis://127.0.0.1:6379/0): the benchmark measures the Redis channel layer.")
        return 2
    sizes = [int(n) for n in args.rooms.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="bench-signalling-"))
    env = server_env(workdir, redis_url=redis_url, SIGNALLING_TICKET_TTL_SECONDS="7200", LOG_LEVEL="WARNING")
    # Each run gets rooms of its own: a room admitted in one run cannot be admitted again.
    print(f"seeding {sum(sizes) + 1} rooms ...", flush=True)
    rooms = seed_rooms(env, sum(sizes) + 1)["rooms"]
    ports = (free_port(), free_port())
    servers = [start_server(env, port, workdir / f"server-{port}.log") for port in ports]
    try:
        floor = asyncio.run(redis_floor(redis_url))
        floor_p50 = statistics.median(floor)
        print(f"Redis PUBLISH->subscriber floor: p50 {ms(floor_p50)} ms  p95 {ms(percentile(floor, 95))} ms  p99 {ms(percentile(floor, 99))} ms")
        idle = asyncio.run(idle_relay(rooms[-1], ports))
        print(
            f"Idle relay (1 room, one message at a time, across both servers): p50 {ms(statistics.median(idle))} ms  "
            f"p95 {ms(percentile(idle, 95))} ms  p99 {ms(percentile(idle, 99))} ms  p50/floor {statistics.median(idle) / floor_p50:.1f}"
        )
        print("Bursts (every room exchanges offer, answer and 2x8 ICE candidates at once):")
        print(f"{'rooms':>6} {'clients':>7} {'join s':>7} {'msgs':>7} {'msgs/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'p50/floor':>9}")
        offset = 0
        for size in sizes:
            result = asyncio.run(run_rooms(rooms[offset:offset + size], ports))
            offset += size
            lat = result["latencies"]
            p50 = statistics.median(lat)
            print(
                f"{size:>6} {2 * size:>7} {result['joined_in']:>7.1f} {result['messages']:>7} "
                f"{result['messages'] / result['elapsed']:>8.0f} {ms(p50):>8} {ms(percentile(lat, 95)):>8} "
                f"{ms(percentile(lat, 99)):>8} {p50 / floor_p50:>9.1f}",
                flush=True,
            )
    finally:
        stop(*servers)
    return 0


if __name__ == "__main__":
    sys.exit(main())
