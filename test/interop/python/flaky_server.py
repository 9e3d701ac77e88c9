"""A gRPC C-core server (Debian's python3-grpcio) of the resilience fixture's res.v1.Flaky service
(test/fixtures/resilience/resilience.proto), for attache's interoperability tests: C-core's HTTP/2 stack
and its default ping policy (one PING per 5 minutes while it sends no data, none without calls, GOAWAY
too_many_pings after two strikes). Messages are read and written by hand, so no generated code is needed.

Every execution prints "RAN <method> <key> <n>" (n: executions of that key) before sleeping sleep_ms.
"--min-ping-interval-ms" scales the ping policy down for short tests; without it C-core's defaults apply.
"""
import argparse
import sys
import threading
import time
from concurrent import futures

import grpc

lock = threading.Lock()
counts = {}


def say(line):
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def varint(b, i):
    shift = value = 0
    while True:
        byte = b[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def parse_request(b):
    """FlakyRequest's key (1) and sleep_ms (5)."""
    key, sleep_ms, i = "", 0, 0
    while i < len(b):
        tag, i = varint(b, i)
        num, typ = tag >> 3, tag & 7
        if typ == 0:
            v, i = varint(b, i)
            if num == 5:
                sleep_ms = v
        elif typ == 2:
            n, i = varint(b, i)
            if num == 1:
                key = b[i:i + n].decode()
            i += n
        elif typ == 1:
            i += 8
        elif typ == 5:
            i += 4
        else:
            break
    return key, sleep_ms


def enc_varint(v):
    out = bytearray()
    while True:
        if v < 0x80:
            out.append(v)
            return bytes(out)
        out.append((v & 0x7F) | 0x80)
        v >>= 7


def handler(method):
    def run(request, context):
        key, sleep_ms = parse_request(request)
        with lock:
            counts[key] = counts.get(key, 0) + 1
            n = counts[key]
        say("RAN %s %s %d" % (method, key, n))
        end = time.monotonic() + sleep_ms / 1000
        while context.is_active() and time.monotonic() < end:
            time.sleep(min(0.05, max(0, end - time.monotonic())))
        k = key.encode()
        return b"\x0a" + enc_varint(len(k)) + k + b"\x10" + enc_varint(n)
    return grpc.unary_unary_rpc_method_handler(run)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--min-ping-interval-ms", type=int, default=0)
    args = p.parse_args()
    options = []
    if args.min_ping_interval_ms > 0:
        options.append(("grpc.http2.min_ping_interval_without_data_ms", args.min_ping_interval_ms))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=32), options=options)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("res.v1.Flaky", {m: handler(m) for m in ("Get", "Post", "Idem")}),))
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    say("LISTENING %d" % port)
    server.wait_for_termination()


if __name__ == "__main__":
    main()
