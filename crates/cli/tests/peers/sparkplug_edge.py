#!/usr/bin/env python3
"""A Sparkplug B edge node, played by a third-party implementation (pysparkplug), for
tests/sparkplug_peer.rs: every payload byte is encoded by pysparkplug and the collector's
commands are decoded by it.

The session, in order (seq numbers are the node's, shared by its devices):

  connect, with an NDEATH will carrying bdSeq; subscribe to NCMD and to the host's STATE
  wait for the host's STATE online (a Sparkplug edge node waits for its primary host)
  NBIRTH  seq 0: bdSeq, Node Control/Rebirth and METRICS metrics with aliases (~17 KB)
  DBIRTH  seq 1: the device's metrics with aliases
  gate "data": wait for "go" on stdin (the test checks the births were stored)
  NDATA   seq 2, by alias only, no datatypes
  DDATA   seq 3, by alias only, with datatypes (as pysparkplug's EdgeNode sends them)
  seq 4 is skipped
  NDATA   seq 5, by alias only: the host sees a gap and, after its reorder timeout, asks for a
          rebirth (NCMD Node Control/Rebirth = true)
  on that NCMD: NBIRTH seq 0 (same bdSeq) and DBIRTH seq 1 with the current values, then
  NDATA seq 2 and DDATA seq 3 by alias
  gate "death": wait for "go" on stdin (the test checks everything was stored)
  NDEATH with the NBIRTH's bdSeq, then a clean disconnect

pysparkplug's EdgeNode cannot play this as it is: its update() refuses metrics without a name,
it never answers a rebirth request, it has no way to skip a seq, and (0.6.1) the NDEATH its
disconnect() publishes carries the next bdSeq instead of the NBIRTH's. So the session is driven
here with pysparkplug's own Client, Topic, Metric and payload classes.

stdout: one JSON object per line, for the test to read: what was sent (with the expected
(metric name, timestamp, value) of every reading), what was received, and the gates. Exit 0 when
the whole session ran; 1 with an "error" line (and the reason on stderr) otherwise.
"""

import argparse
import json
import logging
import queue
import select
import struct
import sys
import threading
import time

import pysparkplug as spb
from pysparkplug import _protobuf as wire  # only to check what went on the wire

DT = spb.DataType
# One datatype per metric kind, in turn: signed ints (some negative), floats, 64-bit ints
# beyond 32 bits, doubles that are not round in binary.
KINDS = [
    ("Count", DT.INT32),
    ("Temperature", DT.FLOAT),
    ("Energy", DT.INT64),
    ("Pressure", DT.DOUBLE),
]
DEVICE_METRICS = ["Stroke", "Force", "Cycles", "Oil/Temperature", "Ram/Position", "Strokes"]
DEVICE_ALIAS_BASE = 1001

_print_lock = threading.Lock()


def emit(event, **fields):
    with _print_lock:
        sys.stdout.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stdout.flush()


class Failure(Exception):
    pass


def value_of(kind, seed, phase):
    """The value metric number `seed` of `kind` has in `phase`: distinct everywhere."""
    name, dt = KINDS[kind]
    if dt == DT.INT32:
        v = seed * 10 + phase * 1000
        return -v if (seed // 4) % 2 else v
    if dt == DT.FLOAT:
        # What a float32 holds: the test compares values exactly.
        return struct.unpack("<f", struct.pack("<f", seed * 0.25 + phase * 100.5))[0]
    if dt == DT.INT64:
        return 2**40 + seed * 10 + phase * 1000
    return seed * 0.1 + phase * 1000.3


class Table:
    """The metrics of one BIRTH: name, alias, datatype and current value of each."""

    def __init__(self, device, entries):
        self.device = device  # None for the node itself
        self.entries = entries  # alias -> dict(name, datatype, kind, seed, value)

    def set_phase(self, aliases, phase):
        for alias in aliases:
            e = self.entries[alias]
            e["value"] = value_of(e["kind"], e["seed"], phase)

    def birth_metrics(self, ts):
        return [
            spb.Metric(
                timestamp=ts,
                name=e["name"],
                datatype=e["datatype"],
                value=e["value"],
                alias=alias,
            )
            for alias, e in self.entries.items()
        ]

    def data_metrics(self, aliases, ts):
        """By alias only: no name (the host must resolve it through the BIRTH)."""
        return [
            spb.Metric(
                timestamp=ts,
                name=None,
                datatype=self.entries[a]["datatype"],
                value=self.entries[a]["value"],
                alias=a,
            )
            for a in aliases
        ]

    def report(self, metrics):
        """What the host must store for `metrics`: the BIRTH's name, the time, the value."""
        return [
            {
                "metric": self.entries[m.alias]["name"],
                "alias": m.alias,
                "datatype": self.entries[m.alias]["datatype"].name,
                "ts": m.timestamp,
                "value": m.value,
            }
            for m in metrics
        ]


class Edge:
    def __init__(self, args):
        self.args = args
        self.group, self.node = args.group, args.node
        self.bd_seq = args.bd_seq
        self.events = queue.Queue()
        self.node_table = Table(
            None,
            {
                i + 1: {
                    "name": "Line{}/Station{:02d}/Sensor{:03d}/{}".format(
                        i // 100 + 1, (i // 10) % 10, i, KINDS[i % 4][0]
                    ),
                    "datatype": KINDS[i % 4][1],
                    "kind": i % 4,
                    "seed": i,
                    "value": value_of(i % 4, i, 0),
                }
                for i in range(args.metrics)
            },
        )
        self.device_table = Table(
            args.device,
            {
                DEVICE_ALIAS_BASE + j: {
                    "name": "Press/" + name,
                    "datatype": KINDS[j % 4][1],
                    "kind": j % 4,
                    "seed": 500 + j,
                    "value": value_of(j % 4, 500 + j, 0),
                }
                for j, name in enumerate(DEVICE_METRICS)
            },
        )
        self.client = spb.Client(client_id="pysparkplug-" + self.node)

    # -- MQTT plumbing ---------------------------------------------------------------------

    def topic(self, message_type, device=None):
        return spb.Topic(
            message_type=message_type,
            group_id=self.group,
            edge_node_id=self.node,
            device_id=device,
        )

    def bd_seq_metric(self):
        return spb.Metric(
            timestamp=spb.get_current_timestamp(),
            name="bdSeq",
            datatype=DT.INT64,
            value=self.bd_seq,
        )

    def connect(self):
        will = spb.Message(
            topic=self.topic(spb.MessageType.NDEATH),
            payload=spb.NDeath(
                timestamp=spb.get_current_timestamp(),
                bd_seq_metric=self.bd_seq_metric(),
            ),
            qos=spb.QoS.AT_LEAST_ONCE,
            retain=False,
        )
        self.client.set_will(will)

        def on_ncmd(_client, message):
            try:
                metrics = {m.name: m.value for m in message.payload.metrics}
                emit("received", type="NCMD", topic=str(message.topic), metrics=metrics)
                self.events.put(("NCMD", metrics))
            except Exception as e:  # a paho callback must not raise: report it instead
                self.events.put(("error", "NCMD not understood: {!r}".format(e)))

        def on_state(_client, message):
            try:
                state = message.payload
                emit("received", type="STATE", topic=str(message.topic), online=state.online,
                     timestamp=state.timestamp)
                self.events.put(("STATE", state.online))
            except Exception as e:
                self.events.put(("error", "STATE not understood: {!r}".format(e)))

        # In this order: when the retained STATE arrives, the NCMD subscription is in place.
        self.client.subscribe(self.topic(spb.MessageType.NCMD), spb.QoS.AT_LEAST_ONCE, on_ncmd)
        state_topic = spb.Topic(
            message_type=spb.MessageType.STATE, sparkplug_host_id=self.args.host_id
        )
        self.client.subscribe(state_topic, spb.QoS.AT_LEAST_ONCE, on_state)
        self.client.connect(
            self.args.broker, port=self.args.port, keepalive=30, blocking=False,
            callback=lambda _c: emit("connected", client_id="pysparkplug-" + self.node),
        )

    def wait_event(self, kind, what, accept=lambda _v: True):
        deadline = time.monotonic() + self.args.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failure("timed out after {} s waiting for {}".format(self.args.timeout, what))
            try:
                got, value = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if got == "error":
                raise Failure(value)
            if got == kind and accept(value):
                return value

    def gate(self, name):
        """Waits for "go" on stdin, so the test can check what the host did so far."""
        emit("gate", next=name)
        ready, _, _ = select.select([sys.stdin], [], [], self.args.timeout * 3)
        if not ready:
            raise Failure("no go for {!r} on stdin".format(name))
        line = sys.stdin.readline()
        if line.strip() != "go":
            raise Failure("expected 'go' for {!r} on stdin, got {!r}".format(name, line))

    def send(self, message_type, payload, *, device=None, table=None, metrics=(), dtypes=True,
             qos=spb.QoS.AT_MOST_ONCE):
        raw = payload.encode(include_dtypes=dtypes)
        on_wire = wire.Payload.FromString(raw)
        self.client.publish(
            spb.Message(topic=self.topic(message_type, device), payload=payload, qos=qos,
                        retain=False),
            include_dtypes=dtypes,
        )
        emit(
            "sent",
            type=str(message_type),
            topic=str(self.topic(message_type, device)),
            device=device,
            seq=getattr(payload, "seq", None),
            bytes=len(raw),
            metrics_on_wire=len(on_wire.metrics),
            named_on_wire=sum(1 for m in on_wire.metrics if m.HasField("name")),
            datatypes_on_wire=sum(1 for m in on_wire.metrics if m.datatype != 0),
            bd_seq=next((m.long_value for m in on_wire.metrics if m.name == "bdSeq"), None),
            readings=table.report(metrics) if table is not None else [],
        )

    # -- the session ---------------------------------------------------------------------

    def births(self, seq0, ts):
        node_metrics = self.node_table.birth_metrics(ts)
        control = [
            self.bd_seq_metric(),
            spb.Metric(timestamp=ts, name="Node Control/Rebirth", datatype=DT.BOOLEAN,
                       value=False),
        ]
        self.send(
            spb.MessageType.NBIRTH,
            spb.NBirth(timestamp=spb.get_current_timestamp(), seq=seq0,
                       metrics=tuple(control + node_metrics)),
            table=self.node_table, metrics=node_metrics,
        )
        device_metrics = self.device_table.birth_metrics(ts)
        self.send(
            spb.MessageType.DBIRTH,
            spb.DBirth(timestamp=spb.get_current_timestamp(), seq=seq0 + 1,
                       metrics=tuple(device_metrics)),
            device=self.args.device, table=self.device_table, metrics=device_metrics,
        )

    def ndata(self, seq, aliases, phase, ts):
        aliases = list(dict.fromkeys(a + 1 for a in aliases))  # metric i has alias i + 1
        self.node_table.set_phase(aliases, phase)
        metrics = self.node_table.data_metrics(aliases, ts)
        self.send(
            spb.MessageType.NDATA,
            spb.NData(timestamp=spb.get_current_timestamp(), seq=seq, metrics=tuple(metrics)),
            table=self.node_table, metrics=metrics, dtypes=False,
        )

    def ddata(self, seq, indexes, phase, ts):
        aliases = list(dict.fromkeys(DEVICE_ALIAS_BASE + j for j in indexes))
        self.device_table.set_phase(aliases, phase)
        metrics = self.device_table.data_metrics(aliases, ts)
        self.send(
            spb.MessageType.DDATA,
            spb.DData(timestamp=spb.get_current_timestamp(), seq=seq, metrics=tuple(metrics)),
            device=self.args.device, table=self.device_table, metrics=metrics, dtypes=True,
        )

    def run(self):
        t0 = self.args.t0
        self.connect()
        self.wait_event("STATE", "the host's STATE online", lambda online: online is True)
        self.births(0, t0)
        self.gate("data")

        last = self.args.metrics - 1
        self.ndata(2, [0, 1, 2, 3, 150 % self.args.metrics, last - 1, last], 1, t0 + 1000)
        self.ddata(3, [0, 2, 5], 1, t0 + 1000)
        emit("skipped", seq=4)
        gap_sent = time.monotonic()
        self.ndata(5, [1, 2, 150 % self.args.metrics, last], 2, t0 + 2000)
        self.wait_event("NCMD", "a rebirth request (NCMD Node Control/Rebirth = true)",
                        lambda m: m.get("Node Control/Rebirth") is True)
        emit("rebirth", after_gap_ms=round((time.monotonic() - gap_sent) * 1000))
        # Sparkplug: a rebirth keeps the session's bdSeq and starts the seq over.
        self.births(0, t0 + 3000)
        self.ndata(2, [0, 3, 150 % self.args.metrics], 3, t0 + 4000)
        self.ddata(3, [1, 2], 3, t0 + 4000)
        self.gate("death")

        self.send(
            spb.MessageType.NDEATH,
            spb.NDeath(timestamp=spb.get_current_timestamp(), bd_seq_metric=self.bd_seq_metric()),
            qos=spb.QoS.AT_LEAST_ONCE,
        )
        self.client.disconnect()
        emit("done", bd_seq=self.bd_seq)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--broker", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--group", required=True)
    p.add_argument("--node", required=True)
    p.add_argument("--device", required=True)
    p.add_argument("--host-id", required=True, help="the primary host whose STATE to wait for")
    p.add_argument("--metrics", type=int, default=300, help="metrics in the NBIRTH (>= 4)")
    p.add_argument("--bd-seq", type=int, default=0)
    p.add_argument("--t0", type=int, required=True, help="the births' metric timestamps, ms")
    p.add_argument("--timeout", type=float, default=20.0, help="seconds for each wait")
    args = p.parse_args()
    if args.metrics < 4:
        p.error("--metrics must be at least 4")
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING)
    emit("start", pysparkplug=spb.__version__, python=sys.version.split()[0])
    edge = Edge(args)
    try:
        edge.run()
    except Failure as e:
        emit("error", message=str(e))
        print("sparkplug_edge: " + str(e), file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
