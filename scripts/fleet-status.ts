/**
 * The fleet's deployment table from the broker's retained messages (issue 16; README "Deploying updates"):
 *
 *   node --import tsx scripts/fleet-status.ts --broker mqtt://broker:1883 --group greenhouse [--json] [--settle-ms 500]
 *
 * Subscribes `openstarry/+/deploy/groups` and `openstarry/+/deploy/status`, takes the retained messages the broker
 * hands over, prints one row per board of the group (device, template, version, phase, at, reason) and exits: 0
 * when every board of the group reports `healthy`, 1 otherwise (a board without a status, pending, rolled back,
 * refused), 3 when the broker cannot be reached. A script rather than `openstarry deploy status`: it talks to the
 * broker, not to a daemon, so it needs none of the CLI's control-socket plumbing and runs from any machine that
 * reaches the broker; MQTT_USERNAME / MQTT_PASSWORD are taken from the environment.
 */
import mqtt from 'mqtt';
import { parseArgs } from 'node:util';
import { FleetTable, GROUPS_FILTER, STATUS_FILTER, formatFleetTable } from '../runtime/fleet/fleet-table.ts';

const { values } = parseArgs({
  options: {
    broker: { type: 'string' },
    group: { type: 'string' },
    json: { type: 'boolean', default: false },
    'settle-ms': { type: 'string', default: '500' },
    'timeout-ms': { type: 'string', default: '10000' },
  },
});
if (!values.broker) {
  process.stderr.write('usage: fleet-status.ts --broker URL [--group G] [--json] [--settle-ms N] [--timeout-ms N]\n');
  process.exit(2);
}
const settleMs = Number(values['settle-ms']);
const timeoutMs = Number(values['timeout-ms']);

const table = new FleetTable();
const client = mqtt.connect(values.broker, {
  clientId: `openstarry-fleet-status-${process.pid}`,
  reconnectPeriod: 0,
  connectTimeout: timeoutMs,
  ...(process.env.MQTT_USERNAME ? { username: process.env.MQTT_USERNAME, password: process.env.MQTT_PASSWORD ?? '' } : {}),
});

const done = (code: number, text: string): void => {
  clearTimeout(deadline);
  process.stdout.write(text.endsWith('\n') || text === '' ? text : `${text}\n`);
  client.end(true, () => process.exit(code));
};
const deadline = setTimeout(() => {
  process.stderr.write(`fleet-status: ${values.broker}: no answer within ${timeoutMs} ms\n`);
  process.exit(3);
}, timeoutMs);

let quiet: NodeJS.Timeout | undefined;
// Retained messages arrive right after the SUBACK; the table is printed once none has come for settleMs.
const settle = (): void => {
  clearTimeout(quiet);
  quiet = setTimeout(() => {
    const rows = table.rows(values.group);
    const ok = rows.length > 0 && rows.every((r) => r.status?.phase === 'healthy');
    done(ok ? 0 : 1, values.json ? JSON.stringify(rows, null, 1) : formatFleetTable(rows));
  }, settleMs);
};

client.on('message', (topic, payload, packet) => {
  if (packet.retain && table.add(topic, payload)) settle();
});
client.on('error', (err) => {
  process.stderr.write(`fleet-status: ${values.broker}: ${err.message}\n`);
  process.exit(3);
});
client.on('connect', () => {
  client.subscribe({ [STATUS_FILTER]: { qos: 1 }, [GROUPS_FILTER]: { qos: 1 } }, (err) => {
    if (err) {
      process.stderr.write(`fleet-status: subscribe: ${err.message}\n`);
      process.exit(3);
    }
    settle();
  });
});
