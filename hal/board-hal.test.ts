// The HAL opened on the real sim board (profile + sim buses + the real driver table): default devices, config
// devices, and every kind of configuration mistake failing the boot with the device named.
import path from 'node:path';
import t from 'tap';
import type { Test } from 'tap';
import { loadProfiles } from '../board-profiles/detect.ts';
import type { BoardProfile } from '../board-profiles/profile-schema.ts';
import { systemClock } from '../runtime/clock.ts';
import { silentLogger } from '../runtime/logging/logger.ts';
import { openBoardHal } from './board-hal.ts';

const profiles = await loadProfiles(path.resolve(import.meta.dirname, '../board-profiles'));
const sim = profiles.get('sim') as BoardProfile;

async function open(t: Test, configDevices: unknown[]) {
  const hal = await openBoardHal({ profile: sim, configDevices, configFile: '/etc/openstarry.yaml', clock: systemClock, log: silentLogger });
  t.teardown(() => hal.close());
  return hal;
}

t.test('the sim board brings the default device set; config devices add to it or replace a default', async (t) => {
  const hal = await open(t, [
    { id: 'env1', driver: 'sht31', bus: 1, address: 0x44 },
    { id: 'fan', driver: 'relay', pin: 15, activeLow: true, safeState: 'off' },
  ]);
  const devices = hal.service.devices();
  t.same(devices.map((d) => [d.id, d.kind, d.driver, d.origin]), [
    ['env0', 'sensor', 'bme280', 'board'],
    ['fan', 'actuator', 'relay', 'config'],
    ['pir', 'input', 'pir', 'board'],
    ['cam0', 'camera', 'camera', 'board'],
    ['gps0', 'sensor', 'gps-nmea', 'board'],
    ['env1', 'sensor', 'sht31', 'config'],
  ], 'a replaced default keeps its place');
  const env1 = hal.registry.get('env1')?.device;
  t.equal(env1?.kind, 'sensor');
  if (env1?.kind === 'sensor') {
    const temperature = await env1.read('temperature');
    t.ok(temperature > 10 && temperature < 35, 'the simulated SHT31 answers through the real driver');
  }
  t.match(hal.service.devices().find((d) => d.id === 'fan'), { value: 'off' }, 'actuators start safe');
});

t.test('configuration mistakes fail the boot, each named by file, entry and device', async (t) => {
  const attempt = openBoardHal({
    profile: sim,
    configFile: '/etc/openstarry.yaml',
    clock: systemClock,
    log: silentLogger,
    configDevices: [
      { id: 'x1', driver: 'lazer' },
      { id: 'x2', driver: 'relay', pin: 11, colour: 'red' },
      { id: 'x3', driver: 'bme280', bus: 1, address: 0x76 },
      { id: 'x3', driver: 'bme280', bus: 1, address: 0x77 },
      { id: 'Bad Id', driver: 'relay', pin: 12 },
    ],
  });
  await t.rejects(attempt, {
    code: 'ERR_DEVICE_CONFIG_INVALID',
    message: /devices\.0 \(x1\): driver: unknown driver "lazer".*devices\.1 \(x2\): .*colour.*devices\.3: id: duplicate device id "x3".*devices\.4: id: must be lowercase/,
  });
});

t.test('an unknown pin or bus is a boot error naming the device and the board', async (t) => {
  await t.rejects(openBoardHal({ profile: sim, configDevices: [{ id: 'valve', driver: 'relay', pin: 99 }], clock: systemClock, log: silentLogger }), {
    code: 'ERR_DEVICE_CONFIG_INVALID',
    message: /valve.*pin 99 on board "sim"/,
  });
  await t.rejects(openBoardHal({ profile: sim, configDevices: [{ id: 'env9', driver: 'bme280', bus: 7 }], clock: systemClock, log: silentLogger }), {
    code: 'ERR_DEVICE_CONFIG_INVALID',
    message: /env9.*I²C bus 7 on board "sim"/,
  });
});

t.test('hardware that fails to initialise is kept as failed, not a boot error', async (t) => {
  // A second BME280 at env0's address: the hardware cannot be set up (two chips cannot share an address), which is
  // a device failure to report, not a configuration error to stop the boot for.
  const hal = await open(t, [{ id: 'ghost', driver: 'bme280', bus: 1, address: 0x76 }]);
  const ghost = hal.service.devices().find((d) => d.id === 'ghost');
  t.match(ghost, { state: 'failed', error: /^ERR_DRIVER_/ });
  t.equal(hal.service.devices().filter((d) => d.state === 'ok').length, 5, 'the others work');
});
