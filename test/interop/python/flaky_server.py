"""A gRPC C-core server (Debian's python3-grpcio) of the resilience fixture's res.v1.Flaky service
(test/fixtures/resilience/resilience.proto), for attache's interoperability tests: C-core's HTTP/2 stack
and its default ping policy (one PING per 5 minutes while it sends no data, none without calls, GOAWAY
too_many_pings after two strikes). Messages are read and written by hand, so no generated code is needed.

Every execution prints "RAN <method> <key> <n>" (n: executions of that key) before sleeping sleep_ms; a
call cancelled while it sleeps prints "CANCELLED <method> <key>". The first fail_times executions of a key
fail with `code`, a google.rpc.BadRequest detail and an `x-flaky-trailer` trailer; a success carries
reply_bytes of padding. Options: "--min-ping-interval-ms" scales the ping policy down for short tests
(default: C-core's own), "--port" a fixed port, "--max-streams" SETTINGS_MAX_CONCURRENT_STREAMS. SIGTERM
stops gracefully (calls in flight get 5 s to finish).
"""
import argparse
import signal
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
    """FlakyRequest: key (1), fail_times (2), code (3), sleep_ms (5), reply_bytes (6)."""
    r = {"key": "", 2: 0, 3: 0, 5: 0, 6: 0}
    i = 0
    while i < len(b):
        tag, i = varint(b, i)
        num, typ = tag >> 3, tag & 7
        if typ == 0:
            v, i = varint(b, i)
            if num in r:
                r[num] = v
        elif typ == 2:
            n, i = varint(b, i)
            if num == 1:
                r["key"] = b[i:i + n].decode()
            i += n
        elif typ == 1:
            i += 8
        elif typ == 5:
            i += 4
        else:
            break
    return r


def field(num, data):
    return enc_varint(num << 3 | 2) + enc_varint(len(data)) + data


def enc_varint(v):
    out = bytearray()
    while True:
        if v < 0x80:
            out.append(v)
            return bytes(out)
        out.append((v & 0x7F) | 0x80)
        v >>= 7


def status_details(code, message, key):
    """A google.rpc.Status with one google.rpc.BadRequest detail, encoded by hand."""
    violation = field(1, b"key") + field(2, ("failing on purpose: " + key).encode())
    detail = field(1, b"type.googleapis.com/google.rpc.BadRequest") + field(2, field(1, violation))
    return enc_varint(1 << 3) + enc_varint(code) + field(2, message.encode()) + field(3, detail)


def handler(method):
    def run(request, context):
        r = parse_request(request)
        key = r["key"]
        with lock:
            counts[key] = counts.get(key, 0) + 1
            n = counts[key]
        say("RAN %s %s %d" % (method, key, n))
        if n <= r[2] and r[3] != 0:
            message = "flaky failure %d" % r[3]
            context.set_trailing_metadata((("x-flaky-trailer", key), ("grpc-status-details-bin", status_details(r[3], message, key))))
            context.abort(next(c for c in grpc.StatusCode if c.value[0] == r[3]), message)
        end = time.monotonic() + r[5] / 1000
        while time.monotonic() < end:
            if not context.is_active():
                say("CANCELLED %s %s" % (method, key))
                return b""
            time.sleep(min(0.02, max(0, end - time.monotonic())))
        k = key.encode()
        reply = field(1, k) + enc_varint(2 << 3) + enc_varint(n)
        if r[6] > 0:
            reply += field(4, bytes(r[6]))
        return reply
    return grpc.unary_unary_rpc_method_handler(run)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--min-ping-interval-ms", type=int, default=0)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--max-streams", type=int, default=0)
    args = p.parse_args()
    options = [("grpc.max_receive_message_length", 16 << 20), ("grpc.max_send_message_length", 16 << 20)]
    if args.min_ping_interval_ms > 0:
        options.append(("grpc.http2.min_ping_interval_without_data_ms", args.min_ping_interval_ms))
    if args.max_streams > 0:
        options.append(("grpc.max_concurrent_streams", args.max_streams))
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=400), options=options)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("res.v1.Flaky", {m: handler(m) for m in ("Get", "Post", "Idem")}),))
    port = server.add_insecure_port("127.0.0.1:%d" % args.port)
    server.start()
    signal.signal(signal.SIGTERM, lambda *_: server.stop(5))
    say("LISTENING %d" % port)
    server.wait_for_termination()
    say("STOPPED")


if __name__ == "__main__":
    main()
