// Adds lockfile entries for optional platform binaries (biome, msgpackr-extract) of other
// platforms when npm left them out because the registry in use could not serve them; `npm ci`
// refuses a lockfile without them. Usage: node scripts/complete-lockfile.cjs package-lock.json
const fs = require('fs');
const path = process.argv[2];
const lock = JSON.parse(fs.readFileSync(path, 'utf8'));
const add = (name, version, os, cpu, extra = {}) => {
  const key = `node_modules/${name}`;
  if (lock.packages[key]) return;
  lock.packages[key] = { version, cpu: [cpu], ...extra, optional: true, os: [os] };
};
for (const [suffix, os, cpu, libc] of [
  ['android-arm64', 'android', 'arm64'],
  ['android-x64', 'android', 'x64'],
  ['darwin-arm64', 'darwin', 'arm64'],
  ['darwin-x64', 'darwin', 'x64'],
  ['linux-arm64-musl', 'linux', 'arm64', 'musl'],
  ['linux-x64-musl', 'linux', 'x64', 'musl'],
  ['win32-arm64', 'win32', 'arm64'],
  ['win32-x64', 'win32', 'x64'],
])
  add(`@biomejs/cli-${suffix}`, '2.6.8', os, cpu, {
    dev: true,
    ...(libc ? { libc: [libc] } : {}),
    license: 'MIT OR Apache-2.0',
  });
for (const [suffix, os, cpu] of [
  ['darwin-arm64', 'darwin', 'arm64'],
  ['darwin-x64', 'darwin', 'x64'],
  ['linux-arm', 'linux', 'arm'],
  ['win32-x64', 'win32', 'x64'],
])
  add(`@msgpackr-extract/msgpackr-extract-${suffix}`, '3.0.7', os, cpu, { license: 'MIT' });
const sorted = Object.fromEntries(
  Object.entries(lock.packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a.localeCompare(b))),
);
lock.packages = sorted;
fs.writeFileSync(path, JSON.stringify(lock, null, 2) + '\n');
