// Checks the template that `cdk synth` wrote to cdk.out/ (run by
// scripts/cdk-check.sh before this test; or run `npx cdk synth` yourself,
// with `-c bootstrapZip=PATH` when the real bootstrap.zip is not built).
//   node --test test/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.resolve(here, '..', 'cdk.out');

// The five SageMaker actions the handler calls (src/sagemaker/sdk.rs), no others.
const SAGEMAKER_ACTIONS = [
  'sagemaker:CreateImageVersion',
  'sagemaker:DeleteImageVersion',
  'sagemaker:DescribeImageVersion',
  'sagemaker:ListAliases',
  'sagemaker:UpdateImageVersion',
];

function loadTemplate() {
  const files = fs.existsSync(outDir)
    ? fs.readdirSync(outDir).filter((f) => f.endsWith('.template.json'))
    : [];
  assert.ok(files.length > 0, `no *.template.json in ${outDir}: run \`npx cdk synth\` (or scripts/cdk-check.sh) first`);
  const templates = files
    .map((f) => JSON.parse(fs.readFileSync(path.join(outDir, f), 'utf8')))
    .filter((t) => Object.values(t.Resources ?? {}).some((r) => r.Type === 'Custom::SageMakerImageVersion'));
  assert.equal(templates.length, 1, 'exactly one synthesized template has Custom::SageMakerImageVersion resources');
  return templates[0];
}

const template = loadTemplate();
const resources = template.Resources;
const ofType = (type) => Object.entries(resources).filter(([, r]) => r.Type === type);
const asArray = (v) => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

const functions = ofType('AWS::Lambda::Function');
const customs = ofType('Custom::SageMakerImageVersion');
const [[fnId, fn]] = functions;
const byName = (prefix) => {
  const found = customs.find(([id]) => id.startsWith(prefix));
  assert.ok(found, `custom resource ${prefix}`);
  return found;
};
const [firstId, first] = byName('ImageVersion');
const [, second] = byName('NextImageVersion');
const [, adopted] = byName('AdoptedImageVersion');

test('one provider function, provided.al2023 on arm64 with handler bootstrap', () => {
  assert.equal(functions.length, 1);
  assert.equal(fn.Properties.Runtime, 'provided.al2023');
  assert.deepEqual(fn.Properties.Architectures, ['arm64']);
  assert.equal(fn.Properties.Handler, 'bootstrap');
  assert.equal(fn.Properties.MemorySize, 128);
  assert.equal(fn.Properties.LoggingConfig.LogFormat, 'JSON');
  assert.equal(resources[fn.Properties.LoggingConfig.LogGroup.Ref].Type, 'AWS::Logs::LogGroup');
});

test('three custom resources of type Custom::SageMakerImageVersion backed by the function', () => {
  assert.equal(customs.length, 3);
  for (const [id, r] of customs) {
    assert.equal(r.Type, 'Custom::SageMakerImageVersion', id);
    assert.deepEqual(r.Properties.ServiceToken, { 'Fn::GetAtt': [fnId, 'Arn'] }, id);
  }
});

test('ServiceTimeout is set, 1-3600 seconds, and above the function timeout', () => {
  for (const [id, r] of customs) {
    const timeout = r.Properties.ServiceTimeout;
    assert.match(String(timeout), /^[0-9]+$/, id);
    const seconds = Number(timeout);
    assert.ok(seconds >= 1 && seconds <= 3600, `${id}: ServiceTimeout ${seconds}`);
    assert.ok(seconds > fn.Properties.Timeout, `${id}: ServiceTimeout ${seconds} <= function timeout`);
  }
});

test('the first version sets every property as declared', () => {
  const { ServiceToken, ServiceTimeout, ...props } = first.Properties;
  assert.deepEqual(props, {
    ImageName: 'cdk-example-image',
    BaseImage: { Ref: 'BaseImage' },
    Region: { Ref: 'AWS::Region' },
    Aliases: ['stable', '1.0'],
    Horovod: 'false',
    JobType: 'TRAINING',
    MLFramework: 'PyTorch 2.3',
    ProgrammingLang: 'Python 3.11',
    Processor: 'GPU',
    ReleaseNotes: 'First version of the example image',
    VendorGuidance: 'STABLE',
  });
});

test('the second version is of the same image and depends on the first', () => {
  assert.equal(second.Properties.ImageName, first.Properties.ImageName);
  assert.deepEqual(second.Properties.BaseImage, { Ref: 'NextBaseImage' });
  assert.deepEqual(second.Properties.Aliases, ['latest']);
  assert.ok(asArray(second.DependsOn).includes(firstId), `DependsOn ${JSON.stringify(second.DependsOn)}`);
});

test('an existing version is taken over only when asked, and retained on delete', () => {
  assert.equal(adopted.Condition, 'TakeOverExistingVersion');
  assert.equal(adopted.DeletionPolicy, 'Retain');
  assert.equal(adopted.UpdateReplacePolicy, 'Retain');
  assert.deepEqual(adopted.Properties.ExistingVersion, { Ref: 'ExistingVersion' });
  assert.deepEqual(adopted.Properties.ImageName, { Ref: 'ExistingImageName' });
  assert.deepEqual(adopted.Properties.BaseImage, { Ref: 'ExistingBaseImage' });
  assert.ok(template.Conditions.TakeOverExistingVersion['Fn::And'], 'both parameters must be set');
});

test('the image exists before its versions', () => {
  const images = ofType('AWS::SageMaker::Image');
  assert.equal(images.length, 1);
  const [[imageId, image]] = images;
  assert.equal(image.Properties.ImageName, first.Properties.ImageName);
  assert.ok(asArray(first.DependsOn).includes(imageId));
});

test("the function's role grants exactly the five SageMaker actions, on images and image versions only", () => {
  const roleId = fn.Properties.Role['Fn::GetAtt'][0];
  const role = resources[roleId];
  assert.equal(role.Type, 'AWS::IAM::Role');
  assert.deepEqual(asArray(role.Properties.ManagedPolicyArns), [], 'no managed policies');
  const attached = ofType('AWS::IAM::Policy')
    .filter(([, p]) => asArray(p.Properties.Roles).some((r) => r.Ref === roleId))
    .map(([, p]) => p.Properties.PolicyDocument);
  const documents = [...asArray(role.Properties.Policies).map((p) => p.PolicyDocument), ...attached];
  const statements = documents.flatMap((d) => asArray(d.Statement));
  assert.ok(statements.length > 0);

  for (const s of statements) {
    assert.equal(s.Effect, 'Allow');
    assert.ok(!asArray(s.Action).some((a) => a.includes('*')), `wildcard action in ${JSON.stringify(s)}`);
    assert.ok(!asArray(s.Resource).includes('*'), `Resource "*" in ${JSON.stringify(s)}`);
  }

  const actions = statements.flatMap((s) => asArray(s.Action));
  const sagemaker = actions.filter((a) => a.startsWith('sagemaker:')).sort();
  assert.deepEqual(sagemaker, [...SAGEMAKER_ACTIONS].sort());
  const others = actions.filter((a) => !a.startsWith('sagemaker:')).sort();
  assert.deepEqual(others, ['logs:CreateLogStream', 'logs:PutLogEvents']);

  const sagemakerResources = statements
    .filter((s) => asArray(s.Action).some((a) => a.startsWith('sagemaker:')))
    .flatMap((s) => asArray(s.Resource))
    .map((r) => JSON.stringify(r));
  assert.equal(sagemakerResources.length, 2);
  assert.ok(sagemakerResources.some((r) => r.includes(':sagemaker:*:') && r.includes(':image/*')));
  assert.ok(sagemakerResources.some((r) => r.includes(':sagemaker:*:') && r.includes(':image-version/*')));
});

test('outputs come from Ref and Fn::GetAtt Arn, Version, ContainerImage', () => {
  const values = Object.values(template.Outputs ?? {}).map((o) => o.Value);
  const has = (v) => values.some((x) => JSON.stringify(x) === JSON.stringify(v));
  assert.ok(has({ Ref: firstId }), 'Ref');
  for (const attribute of ['Arn', 'Version', 'ContainerImage']) {
    assert.ok(has({ 'Fn::GetAtt': [firstId, attribute] }), attribute);
  }
  assert.ok(has({ 'Fn::GetAtt': [fnId, 'Arn'] }), 'ServiceToken output');
});
