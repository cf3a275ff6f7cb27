// The docker driver's default container user (README "On a board": docker isolation under the package's unit).
import t from 'tap';
import { defaultContainerUser } from './docker-driver.ts';

t.test('as root: nobody, and the daemon chowns the agent home to it', async (t) => {
  t.equal(defaultContainerUser(0, 0), '65534:65534');
  t.equal(defaultContainerUser(undefined, undefined), '65534:65534', 'no getuid (not POSIX): nobody');
});

t.test('as a service user (the unit runs it as openstarry): the daemon\'s own ids, so its 0700 home and 0640 templates stay usable', async (t) => {
  t.equal(defaultContainerUser(103, 104), '103:104');
  t.equal(defaultContainerUser(1000, undefined), '1000:1000');
});
