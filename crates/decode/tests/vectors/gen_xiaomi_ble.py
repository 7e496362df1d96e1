#!/usr/bin/env python3
"""Writes xiaomi_ble.json: the MiBeacon frames of xiaomi-ble's published test suite
(Bluetooth-Devices/xiaomi-ble, tests/test_parser.py, MIT licence) with the values that suite
expects, translated to this crate's metric names and units.

Only the test file's data is read (with `ast`, nothing of it is run or imported): each
`bytes_to_service_info(data, address=...)` frame (service UUID 0xFE95), the test's bindkey,
and the `SensorUpdate` it must give. Frames whose values this crate does not produce (locks,
scales, toothbrushes, legacy encryption...) are kept with `expect_error` and the reason, so the
table shows the whole suite and a change in those cases is noticed too.

Usage: gen_xiaomi_ble.py PATH/TO/xiaomi-ble/tests/test_parser.py COMMIT > xiaomi_ble.json
(`cryptography`, if installed, adds each frame's decrypted objects as `objects`, for reading.)
"""
import ast
import json
import sys

SOURCE, COMMIT = sys.argv[1], sys.argv[2]

# Reference key -> (our metric, our unit, kind). Kinds: number, bool, event.
KEYS = {
    "temperature": ("temperature", "°C", "number"),
    "humidity": ("humidity", "%", "number"),
    "battery": ("battery", "%", "number"),
    "illuminance": ("illuminance", "lx", "number"),
    "conductivity": ("conductivity", "µS/cm", "number"),
    "formaldehyde": ("formaldehyde", "mg/m³", "number"),
    "consumable": ("consumable", "%", "number"),
    "pressure_present_duration": ("pressure_present_duration", "s", "number"),
    "pressure_not_present_duration": ("pressure_not_present_duration", "s", "number"),
    "duration_detected": ("duration_detected", "min", "number"),
    "duration_cleared": ("duration_cleared", "min", "number"),
    "smoke": ("smoke", None, "bool"),
    "opening": ("opening", None, "bool"),
    "motion": ("motion", None, "bool"),
    "light": ("light", None, "bool"),
    "door": ("door", None, "bool"),
    "occupancy": ("occupancy", None, "bool"),
}
# The button events: this crate reports the press type of a "button", not which button.
BUTTONS = {"button", "button_left", "button_right", "button_middle", "button_on"}
# Reference keys this crate does not report, and why; the frame's other values still count.
DROPPED = {
    "voltage": "xiaomi-ble derives it from the battery percentage; it is not transmitted",
    "door_left_open": "the opening state it implies is reported as opening",
    "device_forcibly_removed": "the opening state it implies is reported as opening",
    "pry_the_door": "not reported (lock detail)",
    "power": "YLYK01YL's on/off buttons as a power state are remote-specific; the button is reported",
}
# Reference keys of features this crate does not decode at all.
UNSUPPORTED = {
    "key_id", "lock_method", "lock", "fingerprint", "armed", "toothbrush", "counter", "score",
    "mass", "mass_non_stabilized", "impedance", "impedance_low", "impedance_high", "heart_rate",
    "profile_id", "stabilized", "charging_state", "asleep", "wearing", "occupancy_close_range",
    "dimmer",
}


def key_name(node):
    """`KEY_BINARY_OPENING` / `DeviceKey(key="lock")` / `key_button_right` -> `opening` ..."""
    if isinstance(node, ast.Call):
        for kw in node.keywords:
            if kw.arg == "key":
                if isinstance(kw.value, ast.Attribute):  # ExtendedBinarySensorDeviceClass.ARMED
                    return kw.value.attr.lower()
                return ast.literal_eval(kw.value)
    name = ast.unparse(node)
    for prefix in ("KEY_BINARY_", "KEY_EVENT_", "KEY_", "key_"):
        if name.startswith(prefix):
            return name[len(prefix):].lower()
    return name.lower()


def literal(node):
    """A literal, or `bytes.fromhex("...")`; None for anything computed."""
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "bytes.fromhex":
        return bytes.fromhex(ast.literal_eval(node.args[0]))
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def values(node, aliases):
    out = {}
    if not isinstance(node, ast.Dict):
        return out
    for key, value in zip(node.keys, node.values):
        name = aliases.get(ast.unparse(key)) or key_name(key)
        kwargs = {kw.arg: kw.value for kw in value.keywords}
        if "native_value" in kwargs:
            try:
                out[name] = ast.literal_eval(kwargs["native_value"])
            except ValueError:
                out[name] = ast.unparse(kwargs["native_value"])
        elif "event_type" in kwargs:
            out[name] = {"event": ast.literal_eval(kwargs["event_type"])}
    return out


def frames(function):
    """(data, address, line) of each frame and the expected values after it, in order."""
    env, aliases, items = {}, {}, []
    statements = [n for n in ast.walk(function) if isinstance(n, (ast.Assign, ast.Call, ast.Compare))]
    statements.sort(key=lambda n: (n.lineno, n.col_offset))
    for node in statements:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                if isinstance(node.value, ast.Call) and ast.unparse(node.value.func) == "DeviceKey":
                    aliases[target.id] = key_name(node.value)
                env[target.id] = literal(node.value)
        elif isinstance(node, ast.Call):
            func = ast.unparse(node.func)
            if func in ("bytes_to_service_info", "_assert_temp_humidity_v3"):
                kwargs = {kw.arg: kw.value for kw in node.keywords}
                data = node.args[0]
                data = env.get(data.id) if isinstance(data, ast.Name) else literal(data)
                address = ast.literal_eval(kwargs["address"]) if "address" in kwargs else "00:00:00:00:00:00"
                if not isinstance(data, bytes):
                    continue  # built by a helper (synthetic frames), not a published capture
                items.append({"data": data, "address": address, "line": node.lineno})
                if func == "_assert_temp_humidity_v3":
                    model = ast.literal_eval(kwargs["model"])
                    items.append({"expected": {"temperature": 27.2, "humidity": 49.0}, "model": model})
        elif isinstance(node, ast.Compare) and node.comparators:
            update = node.comparators[0]
            if isinstance(update, ast.Call) and ast.unparse(update.func) == "SensorUpdate":
                kwargs = {kw.arg: kw.value for kw in update.keywords}
                expected = {}
                for field in ("entity_values", "binary_entity_values", "events"):
                    value = kwargs.get(field)
                    if isinstance(value, ast.Name):
                        continue  # a shared dict of the signal strength only
                    expected.update(values(value, aliases))
                expected.pop("signal_strength", None)
                models = [kw.value for kw in ast.walk(kwargs.get("devices", ast.Dict([], []))) if isinstance(kw, ast.keyword) and kw.arg == "model"]
                model = ast.literal_eval(models[0]) if models else None
                items.append({"expected": expected, "model": model})
    return env.get("bindkey"), items


def plaintext_objects(data, address, bindkey):
    try:
        from cryptography.hazmat.primitives.ciphers.aead import AESCCM
    except ImportError:
        return None
    mac = bytes.fromhex(address.replace(":", ""))
    control = int.from_bytes(data[:2], "little")
    at = 5 + (6 if control & 0x10 else 0)
    if control & 0x20:
        at += 2 if data[at] & 0x20 else 1
    if not control & 0x40:
        return []
    body = data[at:]
    if control & 0x08:
        if control >> 12 < 4 or bindkey is None:
            return None
        nonce = mac[::-1] + data[2:5] + body[-7:-4]
        try:
            body = AESCCM(bytes.fromhex(bindkey), tag_length=4).decrypt(nonce, body[:-7] + body[-4:], b"\x11")
        except Exception:
            return None
    objects, at = [], 0
    while at + 3 <= len(body):
        length = body[at + 2]
        objects.append(f"{body[at:at + 2].hex()} {body[at + 2]:02x} {body[at + 3:at + 3 + length].hex()}".strip())
        at += 3 + length
    return objects


def translate(reference):
    """Our expected readings, notes, and the reason when there is nothing to compare."""
    readings, notes, unsupported = [], [], []
    presses = set()
    for key, value in sorted(reference.items()):
        if key in UNSUPPORTED:
            unsupported.append(key)
        elif isinstance(value, dict) and key in BUTTONS:
            presses.add(value["event"])
            if key != "button":
                notes.append(f"{key}: which button is not reported, only the press type")
        elif isinstance(value, dict):
            readings.append({"metric": key, "event": value["event"]})
        elif key in KEYS:
            metric, unit, kind = KEYS[key]
            if kind == "bool":
                readings.append({"metric": metric, "value": bool(value)})
            else:
                readings.append({"metric": metric, "value": value, "unit": unit})
        elif key == "moisture":
            if isinstance(value, bool):
                readings.append({"metric": "moisture", "value": value})
            else:
                readings.append({"metric": "moisture", "value": value, "unit": "%"})
        elif key in DROPPED:
            notes.append(f"{key}: {DROPPED[key]}")
        else:
            raise SystemExit(f"no translation for reference key {key!r}")
    for press in sorted(presses):
        readings.append({"metric": "button", "event": press})
    return readings, notes, unsupported


def main():
    tree = ast.parse(open(SOURCE, encoding="utf-8").read())
    vectors, seen = [], set()
    for function in tree.body:
        if not isinstance(function, ast.FunctionDef) or not function.name.startswith("test_"):
            continue
        bindkey, items = frames(function)
        pending = []
        for item in items:
            if "data" in item:
                pending.append(item)
                continue
            # Values accumulated over several frames belong to no single one of them.
            if len(pending) != 1 or pending[0]["data"] in seen:
                pending = []
                continue
            pending = pending[0]
            seen.add(pending["data"])
            data, address = pending["data"], pending["address"]
            reference = item["expected"]
            readings, notes, unsupported = translate(reference)
            vector = {
                "name": f"{function.name}:{pending['line']}",
                "model": item["model"],
                "product_id": f"0x{int.from_bytes(data[2:4], 'little'):04x}",
                "mac": address,
                "bindkey": bindkey,
                "service_data_hex": data.hex(),
                "objects": plaintext_objects(data, address, bindkey),
                "reference": reference,
            }
            control = int.from_bytes(data[:2], "little")
            if control & 0x08 and control >> 12 < 4:
                vector["expect_error"] = "legacy (v2/v3) encryption is not supported"
            elif function.name == "test_bindkey_wrong":
                vector["expect_error"] = "the bindkey is wrong: the MIC does not verify"
            elif any(o.startswith("0020 ") for o in vector["objects"] or []):
                vector["expect_error"] = (
                    "not decoded by this crate: body temperature (0x2000) is an empirical "
                    "formula over two raw sensor values"
                )
            elif unsupported and not readings:
                vector["expect_error"] = "not decoded by this crate: " + ", ".join(sorted(unsupported))
            elif not readings:
                vector["expect_error"] = "the reference reports no value for this frame"
            else:
                vector["expected"] = readings
                if unsupported:
                    notes.append("not decoded by this crate: " + ", ".join(sorted(unsupported)))
            if notes:
                vector["notes"] = notes
            pending = []
            vectors.append(vector)
    json.dump(
        {
            "source": f"https://github.com/Bluetooth-Devices/xiaomi-ble/blob/{COMMIT}/tests/test_parser.py",
            "licence": "MIT (xiaomi-ble); the frames are captured advertisements published as test data",
            "made_by": "tests/vectors/gen_xiaomi_ble.py, from the test file's data only",
            "fields": "service_data_hex: MiBeacon service data after UUID 0xFE95; mac: advertiser; "
            "reference: the values xiaomi-ble's test expects (signal strength left out); "
            "expected: the same in this crate's metrics, in any order, {metric, value, unit} or "
            "{metric, event}; expect_error: this crate returns an error (reason given); notes: "
            "where expected deliberately differs from reference; objects: the decrypted "
            "objects (id, length, value; for reading only)",
            "vectors": vectors,
        },
        sys.stdout,
        ensure_ascii=False,
        indent=1,
    )
    sys.stdout.write("\n")


main()
