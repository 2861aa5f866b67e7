"""Tier 1: the SNTP task (app/sntp.py) keeps an unsynchronised meter clock from a server on
this machine's loopback: a UDP server thread answers with a reply built here (RFC 4330
fields), the task sets the registers' clock from it once, and leaves it alone after."""
import asyncio
import socket
import struct
import threading

from tools import fwpath

fwpath.setup()

from app import sntp  # noqa: E402
from hal.clock import FakeClock  # noqa: E402
from registers import logs  # noqa: E402
from registers.memfs import MemoryFs  # noqa: E402
from registers.meter import MeterRegisters  # noqa: E402

SERVER_TIME = 1796004251  # 2026-11-30 02:04:11 UTC


def serve(sock, requests, stop):
    sock.settimeout(0.1)
    while not stop.is_set():
        try:
            data, peer = sock.recvfrom(512)
        except socket.timeout:
            continue
        requests.append(data)
        reply = bytearray(48)
        reply[0] = (0 << 6) | (4 << 3) | 4  # LI 0, version 4, server
        reply[1] = 1  # stratum 1
        struct.pack_into(">II", reply, 40, SERVER_TIME + 2208988800, 0)
        sock.sendto(bytes(reply), peer)


def test_the_task_syncs_the_clock_from_a_udp_server():
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    requests, stop = [], threading.Event()
    thread = threading.Thread(target=serve, args=(server, requests, stop), daemon=True)
    thread.start()
    clock = FakeClock(utc=0)
    regs = MeterRegisters(clock, MemoryFs())
    regs.boot(0, clock_trusted=False)
    assert not regs.clock.synced

    def open_socket():
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setblocking(False)
        s.connect(server.getsockname())
        return s

    lines = []

    async def run_for_a_while():
        task = asyncio.create_task(sntp.sync_task(regs, open_socket, lines.append,
                                                  period_s=1, poll_ms=10))
        for _ in range(40):
            await asyncio.sleep(0.05)
            if len(requests) >= 2:
                break
        task.cancel()

    try:
        asyncio.run(run_for_a_while())
    finally:
        stop.set()
        thread.join()
        server.close()
    assert requests and requests[0][0] == 0x23 and len(requests[0]) == 48
    assert regs.clock.synced and clock.time() == SERVER_TIME
    assert lines[0] == "sntp: clock set, moved %d s" % (SERVER_TIME - 946684800)
    assert len(lines) == 1  # the second answer was within MAX_SKEW_S: nothing to do
    log = regs.logs.log(logs.STANDARD)
    assert log.entry(0)[2:] == (logs.EV_CLOCK_SYNCED, 0, 946684800, SERVER_TIME)
