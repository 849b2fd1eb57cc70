// The stacks the README's TypeScript and Python apps synthesized from the
// installed packages (scripts/construct-test.sh, which names their templates
// in TEMPLATES): two versions, one through CDK's Provider framework and one
// wired directly to the function, the function of each the package it
// deploys, and the same stack from both languages.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';

const files = (process.env.TEMPLATES ?? '').split(' ').filter(Boolean);
assert.ok(files.length > 0, 'TEMPLATES names the synthesized templates: run scripts/construct-test.sh');

/** The ELF machine of the `bootstrap` in a Lambda package: 'x86_64' or 'arm64'. */
function packageArchitecture(zipPath) {
  const zip = fs.readFileSync(zipPath);
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = zip.readUInt16LE(eocd + 10); n > 0; n--) {
    const method = zip.readUInt16LE(at + 10);
    const size = zip.readUInt32LE(at + 20);
    const nameLength = zip.readUInt16LE(at + 28);
    const skip = nameLength + zip.readUInt16LE(at + 30) + zip.readUInt16LE(at + 32);
    const local = zip.readUInt32LE(at + 42);
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + skip;
    if (name !== 'bootstrap') continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    const elf = method === 0 ? data : zlib.inflateRawSync(data);
    assert.equal(elf.toString('latin1', 0, 4), '\x7fELF', `${zipPath}: bootstrap is an ELF binary`);
    return { 62: 'x86_64', 183: 'arm64' }[elf.readUInt16LE(18)] ?? `machine ${elf.readUInt16LE(18)}`;
  }
  assert.fail(`${zipPath} holds no bootstrap`);
}

/** The resources but CDK's metadata, which names the language. */
function resources(file) {
  const { Resources } = JSON.parse(fs.readFileSync(file, 'utf8'));
  return Object.fromEntries(Object.entries(Resources).filter(([, r]) => r.Type !== 'AWS::CDK::Metadata'));
}

for (const file of files) {
  const all = resources(file);
  const ofType = (type) => Object.entries(all).filter(([, r]) => r.Type === type);
  const binaries = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Runtime === 'provided.al2023');
  const app = path.basename(path.dirname(path.dirname(file)));

  test(`${app}: two versions, one through the Provider framework, one wired to the function, the second after the first`, () => {
    const customs = Object.fromEntries(ofType('Custom::SageMakerImageVersion'));
    assert.deepEqual(Object.keys(customs).sort(), ['NextVersion', 'Version']);
    const [[onEventId]] = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Handler === 'framework.onEvent');
    const direct = binaries.filter(([, f]) => f.Properties.Environment.Variables.PROVIDER_FRAMEWORK === undefined);
    assert.equal(direct.length, 1);
    assert.deepEqual(customs.Version.Properties.ServiceToken, { 'Fn::GetAtt': [onEventId, 'Arn'] });
    assert.deepEqual(customs.NextVersion.Properties.ServiceToken, { 'Fn::GetAtt': [direct[0][0], 'Arn'] });
    assert.ok([customs.NextVersion.DependsOn].flat().includes('Version'));
    assert.equal(customs.Version.Properties.JobType, 'TRAINING');
  });

  test(`${app}: each function deploys the bundled package, on its architecture`, () => {
    assert.equal(binaries.length, 2);
    for (const [id, fn] of binaries) {
      const staged = path.join(path.dirname(file), `asset.${fn.Properties.Code.S3Key}`);
      assert.ok(fs.existsSync(staged), `${id}: ${staged}`);
      assert.deepEqual(fn.Properties.Architectures, [packageArchitecture(staged)], id);
    }
  });
}

test('the TypeScript and the Python app synthesized the same stack', { skip: files.length < 2 && 'one template' }, () => {
  const [first, ...others] = files.map(resources);
  for (const other of others) assert.deepEqual(other, first);
});
