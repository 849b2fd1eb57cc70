// The construct's props follow the one property table: the README's
// Properties table, which src/properties/table.rs is checked against. Read
// from the jsii assembly (.jsii), so that what TypeScript and Python users see
// is what is checked, docs included.
//   node --test test/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

const here = import.meta.dirname;
const assembly = JSON.parse(fs.readFileSync(path.join(here, '..', '.jsii'), 'utf8'));
const readme = fs.readFileSync(path.join(here, '..', '..', 'README.md'), 'utf8');
const type = (name) => {
  const t = assembly.types[`${assembly.name}.${name}`];
  assert.ok(t, `${name} is in the assembly`);
  return t;
};

/** The property names of the README's Properties table, in its order. */
function readmeProperties() {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Properties\n'));
  assert.ok(section, "README.md has a '## Properties' section");
  const names = [...section.matchAll(/^\| `([A-Za-z]+)` \|/gm)].map((m) => m[1]);
  assert.ok(names.length >= 10, `README's Properties table: ${names}`);
  return names;
}

/** A CloudFormation property's prop: lower camel case (MLFramework -> mlFramework); ImageName is `image`, a CfnImage or a name. */
function propOf(name) {
  if (name === 'ImageName') return 'image';
  const [, upper, rest] = /^([A-Z]+)(.*)$/.exec(name);
  return upper.length > 1 && rest !== ''
    ? upper.slice(0, -1).toLowerCase() + upper.slice(-1) + rest
    : upper.toLowerCase() + rest;
}

test("SageMakerImageVersionProps has one prop per row of the README's Properties table, and removalPolicy", () => {
  const props = type('SageMakerImageVersionProps').properties.map((p) => p.name).sort();
  const expected = [...readmeProperties().map(propOf), 'removalPolicy'].sort();
  assert.deepEqual(props, expected);
});

test('the required props are the required rows', () => {
  const section = readme.split(/^## /m).find((s) => s.startsWith('Properties\n'));
  const required = [...section.matchAll(/^\| `([A-Za-z]+)` \|[^|]*\| yes \|/gm)].map((m) => propOf(m[1])).sort();
  const props = type('SageMakerImageVersionProps').properties;
  assert.deepEqual(props.filter((p) => !p.optional).map((p) => p.name).sort(), required);
});

test('every prop, every public member and every type of the library is documented', () => {
  const undocumented = [];
  for (const [fqn, t] of Object.entries(assembly.types)) {
    if (!t.docs?.summary) undocumented.push(fqn);
    for (const member of [...(t.properties ?? []), ...(t.methods ?? []), ...(t.members ?? [])]) {
      if (!member.docs?.summary) undocumented.push(`${fqn}.${member.name}`);
    }
  }
  assert.deepEqual(undocumented, []);
});

test('every optional prop says its default', () => {
  const missing = [];
  for (const name of ['SageMakerImageVersionProps', 'ImageVersionFunctionProps']) {
    for (const p of type(name).properties) {
      if (p.optional && !p.docs?.default) missing.push(`${name}.${p.name}`);
    }
  }
  assert.deepEqual(missing, []);
});

test('the enums are the values the README allows', () => {
  for (const [name, row] of [
    ['JobType', 'JobType'],
    ['Processor', 'Processor'],
    ['VendorGuidance', 'VendorGuidance'],
  ]) {
    const line = readme.split('\n').find((l) => l.startsWith(`| \`${row}\` |`));
    const allowed = [...line.split(/(?<!\\)\|/)[2].matchAll(/`([A-Z_]+)`/g)].map((m) => m[1]).sort();
    assert.deepEqual(type(name).members.map((m) => m.name).sort(), allowed, name);
  }
});
