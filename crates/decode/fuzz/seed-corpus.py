#!/usr/bin/env python3
"""Writes seed corpora for the fuzz targets from the golden vectors (shared/vectors above the
workspace), in each target's input layout (see fuzz_targets/*.rs). The corpora are generated,
not committed: run this before fuzzing (run-all.sh does).

Usage: seed-corpus.py [CORPUS_DIR]   (default: corpus/ next to this script)
"""
import hashlib
import json
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
CORPUS = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "corpus"
VECTORS = next(
    (p / "shared" / "vectors" for p in HERE.parents if (p / "shared" / "vectors").is_dir()),
    None,
)
if VECTORS is None:
    sys.exit("no shared/vectors above " + str(HERE))

GATT_KNOWN = [0x2A37, 0x2A1C, 0x2A19, 0x2A6E, 0x2A6F, 0x2A6D]
count = {}


def write(target, data):
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)
    count[target] = count.get(target, 0) + 1


def load(name):
    return json.loads((VECTORS / name).read_text())


def mac(text):
    return bytes.fromhex(text.replace(":", ""))


def key(text):
    return bytes.fromhex(text) if text and len(text) == 32 else bytes(16)


def entry(kind, ident, data):
    return bytes([kind]) + ident.to_bytes(2, "little") + bytes([len(data) & 0xFF]) + data[:255]


for v in load("bthome.json"):
    sd = bytes.fromhex(v["service_data_hex"])
    m, k = mac(v["mac"]), key(v["bindkey"])
    write("bthome", bytes([0]) + m + k + bytes(4) + sd)
    if sd and not sd[0] & 1:
        # Round-trip mode: the objects after the device-information byte.
        write("bthome", bytes([1]) + m + k + b"\x01\x02\x03\x04" + sd[1:])
    write("advertisement", bytes([1 if v["bindkey"] else 0]) + m + k + entry(1, 0xFCD2, sd))

for v in load("ruuvi.json"):
    md = bytes.fromhex(v["manufacturer_data_hex"])
    write("ruuvi", md)
    write("advertisement", bytes([0]) + mac(v["mac"] or "00:00:00:00:00:00") + bytes(16) + entry(0, 0x0499, md))

xiaomi = load("xiaomi_atc.json")
for v in xiaomi["atc_181a"]:
    sd = bytes.fromhex(v["service_data_hex"])
    m, k = mac(v["mac"]), key(v["bindkey"])
    write("xiaomi_atc", bytes([0]) + m + k + bytes([0]) + sd)
    write("xiaomi_atc", bytes([3]) + m + k + bytes([7]) + sd)
    write("advertisement", bytes([1 if v["bindkey"] else 0]) + m + k + entry(1, 0x181A, sd))
for v in xiaomi["xiaomi_mibeacon"]:
    sd = bytes.fromhex(v["service_data_hex"])
    m, k = mac(v["mac"]), key(v["bindkey"])
    write("mibeacon", bytes([0]) + m + k + bytes(6) + sd)
    if not sd[0] & 0x08:
        # Round-trip mode: the objects after the header (frame control, id, counter, MAC?).
        header = 5 + (6 if sd[0] & 0x10 else 0)
        write("mibeacon", bytes([3]) + m + k + sd[2:5] + b"\x01\x00\x00" + sd[header:])
    write("advertisement", bytes([1 if v["bindkey"] else 0]) + m + k + entry(1, 0xFE95, sd))

# xiaomi-ble's published MiBeacon frames: the decode crate's own vector file.
local = json.loads((HERE.parent / "tests" / "vectors" / "xiaomi_ble.json").read_text())
for v in local["vectors"]:
    sd = bytes.fromhex(v["service_data_hex"])
    m, k = mac(v["mac"]), key(v["bindkey"])
    write("mibeacon", bytes([0]) + m + k + bytes(6) + sd)
    if v["objects"]:
        # Round-trip mode with the frame's (decrypted) objects.
        objects = bytes.fromhex("".join(o.replace(" ", "") for o in v["objects"]))
        write("mibeacon", bytes([3]) + m + k + sd[2:5] + b"\x01\x00\x00" + objects)
    write("advertisement", bytes([1 if v["bindkey"] else 0]) + m + k + entry(1, 0xFE95, sd))

for section, vectors in load("gatt.json").items():
    for v in vectors:
        uuid = v.get("uuid")
        if uuid is None or int(uuid, 16) not in GATT_KNOWN:
            continue
        write("gatt", bytes([GATT_KNOWN.index(int(uuid, 16))]) + bytes.fromhex(v["value_hex"]))

for target in sorted(count):
    print(f"{target}: {count[target]} seeds in {CORPUS / target}")
