"""Publishes one QoS 0 message on each of N new device topics (flood/dev-<i>/v), as a hostile or
broken gateway would, with paho-mqtt (the peers' virtualenv). Prints {"sent": N} when every
message has left."""
import json
import sys

import paho.mqtt.client as mqtt

host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
client = mqtt.Client(client_id="hostile-flood", clean_session=True)
client.max_queued_messages_set(0)
client.connect(host, port)
client.loop_start()
last = None
for i in range(count):
    last = client.publish(f"flood/dev-{i}/v", "1", qos=0)
if last is not None:
    last.wait_for_publish(timeout=60)
client.disconnect()
client.loop_stop()
print(json.dumps({"sent": count}), flush=True)
