"""Two server processes share one room through the Redis channel layer: the patient's side
talks to one process, the doctor to the other, and the whole signalling exchange crosses."""

import json
import os
import time
import tempfile
from pathlib import Path

import httpx
import pytest
from websockets.sync.client import connect

from tests.e2e.harness import free_port, seed_rooms, server_env, start_server, stop

REDIS_URL = os.environ.get("REDIS_URL")


def receive(ws, kind: str) -> dict:
    while True:
        message = json.loads(ws.recv(timeout=10))
        if message["type"] == kind:
            return message


@pytest.mark.slow
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL: the scale-out channel layer is channels-redis")
def test_signalling_crosses_two_server_processes_through_redis():
    workdir = Path(tempfile.mkdtemp(prefix="scale-out-"))
    env = server_env(workdir, redis_url=REDIS_URL)
    room = seed_rooms(env, 1)["rooms"][0]
    ports = free_port(), free_port()
    servers = [start_server(env, port, workdir / f"server-{port}.log") for port in ports]
    try:
        cid = room["consultation"]
        # Each side asks its own server for a ticket, with its API token in a header: the
        # long-lived token never goes into a URL.
        tickets = {}
        for side, port in (("doctor", ports[0]), ("family", ports[1])):
            response = httpx.post(
                f"http://127.0.0.1:{port}/api/consultations/{cid}/ticket/",
                headers={"Authorization": f"Token {room[side]['token']}"},
            )
            assert response.status_code == 201, response.text
            tickets[side] = response.json()["ticket"]
        with connect(f"ws://127.0.0.1:{ports[0]}/ws/consultations/{cid}/?ticket={tickets['doctor']}") as doctor, connect(
            f"ws://127.0.0.1:{ports[1]}/ws/consultations/{cid}/?ticket={tickets['family']}"
        ) as family:
            assert receive(doctor, "state")["you"]["role"] == "doctor"
            assert receive(family, "state")["you"]["role"] == "proxy"
            assert receive(doctor, "presence")["who"]["role"] == "proxy"
            # Idle longer than redis-py's default 5 s read timeout: the room must survive it.
            time.sleep(6)
            doctor.send(json.dumps({"type": "admit"}))
            assert receive(family, "admitted")["type"] == "admitted"
            doctor.send(json.dumps({"type": "offer", "sdp": "v=0 doctor"}))
            assert receive(family, "offer")["sdp"] == "v=0 doctor"
            family.send(json.dumps({"type": "answer", "sdp": "v=0 family"}))
            assert receive(doctor, "answer")["sdp"] == "v=0 family"
            candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 9 typ host", "sdpMid": "0", "sdpMLineIndex": 0}
            family.send(json.dumps({"type": "ice", "candidate": candidate}))
            assert receive(doctor, "ice")["candidate"] == candidate
            family.send(json.dumps({"type": "chat", "text": "跨进程 across processes"}))
            assert receive(doctor, "chat")["text"] == "跨进程 across processes"
            doctor.send(json.dumps({"type": "end"}))
            assert receive(family, "ended")["type"] == "ended"
    finally:
        stop(*servers)


@pytest.mark.slow
def test_foreign_origin_is_refused_and_a_ticket_client_without_origin_is_served():
    workdir = Path(tempfile.mkdtemp(prefix="origin-"))
    env = server_env(workdir)
    room = seed_rooms(env, 1)["rooms"][0]
    port = free_port()
    server = start_server(env, port, workdir / "server.log")
    try:
        url = f"ws://127.0.0.1:{port}/ws/consultations/{room['consultation']}/?ticket={room['family']['ticket']}"
        with pytest.raises(Exception, match="403"):
            with connect(url, origin="https://evil.example"):
                pass
        with connect(url) as mobile:
            assert receive(mobile, "state")["you"]["role"] == "proxy"
    finally:
        stop(server)
