/**
 * One setting of mqtt-packet, the MQTT codec that both mqtt.js (the link) and aedes (the embedded broker) share in
 * the bundle: its number cache. By default, the first packet it writes fills a table of 65,536 two-byte Buffers, one
 * per possible 16-bit value (packet ids, lengths), to save one small allocation per field written. Each Buffer is a
 * whole object on the V8 heap: the table holds ~6.5 MB of a daemon whose whole idle heap is ~20 MB (a heap snapshot
 * of the idle daemon, README "Performance"). Writing the two bytes into a fresh Buffer instead costs nothing the
 * link's throughput benchmark can see, so the cache is turned off for the whole process, before the first packet.
 *
 * Imported for its effect by the two modules that write MQTT packets (mqtt-connect.ts, embedded-broker.ts).
 */
import mqttPacket from 'mqtt-packet';

mqttPacket.writeToStream.cacheNumbers = false;
