/**
 * Home Assistant MQTT discovery configs for one board (README "Home Assistant"): what entities the board's devices
 * become, their config topics and payloads, and the state and command topics under the board's own prefix. Pure: the
 * bridge (ha-bridge.ts) publishes what this computes.
 *
 * The shapes follow Home Assistant's documentation pages "MQTT" (section "MQTT Discovery": the config topic
 * `<discovery_prefix>/<component>/<node_id>/<object_id>/config`, retained; `device`; an empty retained payload removes
 * the entity), "MQTT Sensor", "MQTT Binary sensor" and "MQTT Switch". Keys are written in full (the abbreviations are
 * optional). One Home Assistant device per board; availability is the link's retained `status` topic (README "MQTT,
 * remote triggers and rules"), whose JSON `online` flag a template turns into `online`/`offline`.
 *
 * Topics under the board's prefix (`openstarry/<deviceId>/`):
 *   state/ha/device/<id>/<quantity>   a sensor quantity, e.g. `21.43` (retained)
 *   state/ha/device/<id>              an input's or a relay's `ON` / `OFF` (retained)
 *   state/ha/board/<what>             the board's own entities: agents running, link, queue (retained)
 *   cmd/ha/<id>                       `ON` / `OFF` from Home Assistant to a relay (one level below `cmd/`, so the
 *                                     control-plane commands' `cmd/+` never sees it, and the embedded broker's
 *                                     guard lets a local Home Assistant publish it)
 * State topics sit under `state/`, so the link's queue keeps only the latest of each while offline (README "MQTT,
 * remote triggers and rules").
 */

export type HaComponent = 'sensor' | 'binary_sensor' | 'switch';

/** What the bridge knows of one HAL device (hal/device-list.ts rows plus the device's quantities and commands). */
export interface HaDeviceInfo {
  id: string;
  kind: string;
  driver: string;
  /** A sensor's quantities. */
  quantities?: readonly string[];
  /** An actuator's envelope commands; a relay has `on` and `off`. */
  commands?: readonly string[];
}

export interface HaBoardInfo {
  /** The board's deviceId (config `deviceId`, default the host name). */
  deviceId: string;
  /** The board profile's name, e.g. `rpi-4b`, `sim`. */
  model: string;
  /** The runtime's version (runtime/version.ts). */
  version: string;
  /** The link's topic prefix, e.g. `openstarry/greenhouse-1/`. */
  linkPrefix: string;
  /** Home Assistant's discovery prefix (config `homeassistant.prefix`). */
  discoveryPrefix: string;
}

/** Where one entity's state comes from. */
export type HaSource =
  | { type: 'quantity'; deviceId: string; quantity: string }
  | { type: 'input'; deviceId: string }
  | { type: 'relay'; deviceId: string }
  | { type: 'board'; what: BoardEntity };

export type BoardEntity = 'agents_running' | 'link' | 'queue';

export interface HaEntity {
  component: HaComponent;
  objectId: string;
  /** The HAL device it belongs to (undefined for the board's own entities). */
  deviceId?: string;
  configTopic: string;
  /** Full topic (with the link's prefix). */
  stateTopic: string;
  /** Full topic; switches only. */
  commandTopic?: string;
  source: HaSource;
  config: Record<string, unknown>;
}

/** Units as the drivers report them (drivers/device.ts: °C, %RH, hPa, degrees, m; GPS speed in m/s). */
const QUANTITIES: Readonly<Record<string, { unit?: string; deviceClass?: string }>> = {
  temperature: { unit: '°C', deviceClass: 'temperature' },
  humidity: { unit: '%', deviceClass: 'humidity' },
  pressure: { unit: 'hPa', deviceClass: 'atmospheric_pressure' },
  latitude: { unit: '°' },
  longitude: { unit: '°' },
  altitude: { unit: 'm', deviceClass: 'distance' },
  speed: { unit: 'm/s', deviceClass: 'speed' },
  satellites: {},
  fix: {},
};

/** Drivers whose input is a motion sensor; any other input is a plain binary sensor. */
const MOTION_DRIVERS: ReadonlySet<string> = new Set(['pir']);

/** `ON`/`OFF`: Home Assistant's default payloads for binary sensors and switches ("MQTT Binary sensor", "MQTT Switch"). */
export const ON = 'ON';
export const OFF = 'OFF';

/** Node and object ids in a discovery topic: letters, digits, `_` and `-` ("MQTT Discovery"). */
export function topicId(text: string): string {
  return text.replace(/[^A-Za-z0-9_-]/g, '_');
}

export function deviceStateTopic(linkPrefix: string, deviceId: string, quantity?: string): string {
  return `${linkPrefix}state/ha/device/${deviceId}${quantity === undefined ? '' : `/${topicId(quantity)}`}`;
}

/** Relative to the link's prefix (what MqttLink.subscribe takes). */
export const COMMAND_FILTER = 'cmd/ha/+';

export function commandTopic(linkPrefix: string, deviceId: string): string {
  return `${linkPrefix}cmd/ha/${deviceId}`;
}

function isRelay(d: HaDeviceInfo): boolean {
  return d.kind === 'actuator' && d.commands !== undefined && d.commands.includes('on') && d.commands.includes('off');
}

/** Every entity of the board: its devices' (sensor quantities, inputs, relays) and its own. */
export function discoveryEntities(board: HaBoardInfo, devices: readonly HaDeviceInfo[]): HaEntity[] {
  const node = topicId(board.deviceId);
  const common = {
    availability_topic: `${board.linkPrefix}status`,
    availability_template: "{{ 'online' if value_json.online else 'offline' }}",
    payload_available: 'online',
    payload_not_available: 'offline',
    device: { identifiers: [`openstarry_${node}`], name: board.deviceId, manufacturer: 'OpenStarry', model: board.model, sw_version: board.version },
  };
  const entity = (component: HaComponent, objectId: string, stateTopic: string, source: HaSource, name: string, extra: Record<string, unknown>, deviceId?: string): HaEntity => ({
    component,
    objectId,
    ...(deviceId !== undefined ? { deviceId } : {}),
    configTopic: `${board.discoveryPrefix}/${component}/${node}/${objectId}/config`,
    stateTopic,
    source,
    config: { name, unique_id: `openstarry_${node}_${objectId}`, state_topic: stateTopic, ...extra, ...common },
  });
  const out: HaEntity[] = [];
  for (const d of devices) {
    if (d.kind === 'sensor') {
      for (const q of d.quantities ?? []) {
        const meta = QUANTITIES[q] ?? {};
        const extra: Record<string, unknown> = { state_class: 'measurement' };
        if (meta.unit !== undefined) extra.unit_of_measurement = meta.unit;
        if (meta.deviceClass !== undefined) extra.device_class = meta.deviceClass;
        out.push(entity('sensor', `${d.id}_${topicId(q)}`, deviceStateTopic(board.linkPrefix, d.id, q), { type: 'quantity', deviceId: d.id, quantity: q }, `${d.id} ${q}`, extra, d.id));
      }
    } else if (d.kind === 'input') {
      const extra: Record<string, unknown> = { payload_on: ON, payload_off: OFF };
      if (MOTION_DRIVERS.has(d.driver)) extra.device_class = 'motion';
      out.push(entity('binary_sensor', d.id, deviceStateTopic(board.linkPrefix, d.id), { type: 'input', deviceId: d.id }, d.id, extra, d.id));
    } else if (isRelay(d)) {
      const command = commandTopic(board.linkPrefix, d.id);
      const extra = { command_topic: command, payload_on: ON, payload_off: OFF, state_on: ON, state_off: OFF, device_class: 'switch' };
      out.push({ ...entity('switch', d.id, deviceStateTopic(board.linkPrefix, d.id), { type: 'relay', deviceId: d.id }, d.id, extra, d.id), commandTopic: command });
    }
  }
  // The board's own: `_` starts no device id (hal/device-config.ts DEVICE_ID), so these object ids never collide.
  const boardTopic = (what: BoardEntity) => `${board.linkPrefix}state/ha/board/${what}`;
  out.push(entity('sensor', '_board_agents_running', boardTopic('agents_running'), { type: 'board', what: 'agents_running' }, 'Agents running', { state_class: 'measurement', icon: 'mdi:robot' }));
  out.push(entity('binary_sensor', '_board_link', boardTopic('link'), { type: 'board', what: 'link' }, 'MQTT link', { device_class: 'connectivity', entity_category: 'diagnostic', payload_on: ON, payload_off: OFF }));
  out.push(entity('sensor', '_board_queue', boardTopic('queue'), { type: 'board', what: 'queue' }, 'MQTT queue', { state_class: 'measurement', entity_category: 'diagnostic', icon: 'mdi:tray-full' }));
  return out;
}

/** A sensor value as its state payload: finite numbers only, two decimals at most. */
export function formatNumber(value: number): string | undefined {
  if (!Number.isFinite(value)) return undefined;
  return String(Math.round(value * 100) / 100);
}

/** A relay's status value (`on`/`off`, drivers/device.ts) or an input level (0/1) as `ON`/`OFF`. */
export function onOff(value: unknown): string | undefined {
  if (value === 'on' || value === 1 || value === true) return ON;
  if (value === 'off' || value === 0 || value === false) return OFF;
  return undefined;
}
