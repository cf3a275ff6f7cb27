// The packet-size guard reads fixed headers (MQTT 3.1.1 §2.2) across arbitrary chunk boundaries and answers at the
// header of the first packet over the limit, before its body has arrived.
import t from 'tap';
import mqttPacket from 'mqtt-packet';
import { MqttFrameGuard } from './mqtt-frame-guard.ts';

const publish = (bytes: number) => mqttPacket.generate({ cmd: 'publish', topic: 'a/b', payload: Buffer.alloc(bytes), qos: 0, retain: false, dup: false });
const ping = mqttPacket.generate({ cmd: 'pingreq' });

t.test('packets within the limit pass, whatever the chunking', async (t) => {
  const stream = Buffer.concat([publish(10), ping, publish(1000), publish(200_000), ping]);
  for (const size of [1, 2, 3, 7, 100, stream.length]) {
    const guard = new MqttFrameGuard(210_000);
    const results = new Set<number | undefined>();
    for (let i = 0; i < stream.length; i += size) results.add(guard.feed(stream.subarray(i, i + size)));
    t.same([...results], [undefined], `chunks of ${size}`);
  }
});

t.test('the first oversized header is reported from its header bytes alone', async (t) => {
  const big = publish(300_000);
  const guard = new MqttFrameGuard(210_000);
  t.equal(guard.feed(Buffer.concat([publish(5), ping])), undefined);
  t.equal(guard.feed(big.subarray(0, 1)), undefined, 'the type byte alone says nothing');
  t.equal(guard.feed(big.subarray(1, 6)), big.length, 'the Remaining Length tells the whole size');
});

t.test('a Remaining Length over 4 bytes is malformed (§2.2.3)', async (t) => {
  t.ok(Number.isNaN(new MqttFrameGuard(1024).feed(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))));
});

t.test('lift() removes the limit (the daemon\'s own client)', async (t) => {
  const guard = new MqttFrameGuard(1024);
  guard.lift();
  t.equal(guard.feed(publish(100_000)), undefined);
});
