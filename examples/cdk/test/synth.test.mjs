// Checks the template that `cdk synth` wrote to cdk.out/ (run by
// scripts/cdk-check.sh before this test; or run `npx cdk synth` yourself).
//   node --test test/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

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
// CloudFormation's bound on ServiceTimeout, and CDK's on the waiter.
const ONE_HOUR = 3600;

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
const getAtt = (id, attribute) => ({ 'Fn::GetAtt': [id, attribute] });
const env = (fn) => fn.Properties.Environment?.Variables ?? {};

/** The ELF machine of the `bootstrap` in a Lambda package: 'x86_64' or 'arm64'. */
function packageArchitecture(zipPath) {
  const zip = fs.readFileSync(zipPath);
  // The central directory's entry for bootstrap (sizes are reliable there).
  const eocd = zip.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  let at = zip.readUInt32LE(eocd + 16);
  for (let n = zip.readUInt16LE(eocd + 10); n > 0; n--) {
    const [method, size, nameLength, extraLength, commentLength, local] = [
      zip.readUInt16LE(at + 10), zip.readUInt32LE(at + 20), zip.readUInt16LE(at + 28),
      zip.readUInt16LE(at + 30), zip.readUInt16LE(at + 32), zip.readUInt32LE(at + 42),
    ];
    const name = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (name !== 'bootstrap') continue;
    const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
    const data = zip.subarray(start, start + size);
    const elf = method === 0 ? data : zlib.inflateRawSync(data);
    assert.equal(elf.toString('latin1', 0, 4), '\x7fELF', `${zipPath}: bootstrap is an ELF binary`);
    const machine = { 62: 'x86_64', 183: 'arm64' }[elf.readUInt16LE(18)];
    assert.ok(machine, `${zipPath}: bootstrap's ELF machine ${elf.readUInt16LE(18)}`);
    return machine;
  }
  assert.fail(`${zipPath} holds no bootstrap`);
}

/** The package cdk synth staged for a function (its asset in cdk.out/). */
function stagedPackage(fn) {
  const key = fn.Properties.Code.S3Key;
  const staged = path.join(outDir, `asset.${key}`);
  assert.ok(fs.existsSync(staged), `${staged} (the asset of S3Key ${key})`);
  return staged;
}

// The functions running the binary, by mode; the rest are CDK's framework.
const binaries = ofType('AWS::Lambda::Function').filter(([, f]) => f.Properties.Runtime === 'provided.al2023');
const [[directId, direct]] = binaries.filter(([, f]) => env(f).PROVIDER_FRAMEWORK === undefined);
const [[handlerId, handler]] = binaries.filter(([, f]) => env(f).PROVIDER_FRAMEWORK === 'cdk');
const framework = ofType('AWS::Lambda::Function').filter(([, f]) => env(f).USER_ON_EVENT_FUNCTION_ARN !== undefined);
const [[onEventId, onEvent]] = framework.filter(([, f]) => f.Properties.Handler === 'framework.onEvent');
const [[stateMachineId, stateMachine]] = ofType('AWS::StepFunctions::StateMachine');

const customs = ofType('Custom::SageMakerImageVersion');
const byId = (id) => {
  assert.ok(resources[id]?.Type === 'Custom::SageMakerImageVersion', `custom resource ${id}`);
  return resources[id];
};
const first = byId('ImageVersion');
const second = byId('NextImageVersion');
const adopted = byId('AdoptedImageVersion');
const throughProvider = customs.filter(([, r]) => JSON.stringify(r.Properties.ServiceToken) === JSON.stringify(getAtt(onEventId, 'Arn')));
const wiredDirectly = customs.filter(([, r]) => JSON.stringify(r.Properties.ServiceToken) === JSON.stringify(getAtt(directId, 'Arn')));

/** The waiter's Retry, from the state machine's definition (Fn::Join of literal JSON and ARNs). */
function waiterRetry() {
  const [, parts] = stateMachine.Properties.DefinitionString['Fn::Join'];
  const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'ARN')).join(''));
  const [retry] = definition.States['framework-isComplete-task'].Retry;
  return retry;
}

test('two functions run the binary, provided.al2023 with handler bootstrap, on the architecture of the package they deploy: one direct, one with PROVIDER_FRAMEWORK=cdk', () => {
  assert.equal(binaries.length, 2);
  for (const [id, fn] of binaries) {
    assert.deepEqual(fn.Properties.Architectures, [packageArchitecture(stagedPackage(fn))], id);
    assert.equal(fn.Properties.Handler, 'bootstrap', id);
    assert.equal(fn.Properties.MemorySize, 128, id);
    assert.equal(fn.Properties.LoggingConfig.LogFormat, 'JSON', id);
    assert.equal(resources[fn.Properties.LoggingConfig.LogGroup.Ref].Type, 'AWS::Logs::LogGroup', id);
  }
  assert.deepEqual(env(direct), { RUST_LOG: 'info' });
  assert.deepEqual(env(handler), { RUST_LOG: 'info', PROVIDER_FRAMEWORK: 'cdk', PROVIDER_GIVE_UP_SECONDS: env(handler).PROVIDER_GIVE_UP_SECONDS });
});

test('one CDK Provider: its onEvent and isComplete user handler is the PROVIDER_FRAMEWORK=cdk function', () => {
  assert.equal(framework.length, 3, 'framework onEvent, isComplete and onTimeout');
  for (const [id, fn] of framework) {
    assert.deepEqual(env(fn).USER_ON_EVENT_FUNCTION_ARN, getAtt(handlerId, 'Arn'), id);
    assert.deepEqual(env(fn).USER_IS_COMPLETE_FUNCTION_ARN, getAtt(handlerId, 'Arn'), id);
  }
  assert.deepEqual(env(onEvent).WAITER_STATE_MACHINE_ARN, { Ref: stateMachineId });
});

test('the waiter asks isComplete every 10 s to 1 min, for at most 1 h', () => {
  const retry = waiterRetry();
  assert.deepEqual(retry.ErrorEquals, ['States.ALL']);
  assert.equal(retry.BackoffRate, 1);
  assert.ok(retry.IntervalSeconds >= 10 && retry.IntervalSeconds <= 60, `IntervalSeconds ${retry.IntervalSeconds}`);
  const total = retry.IntervalSeconds * retry.MaxAttempts;
  assert.ok(total >= 15 * 60 && total <= ONE_HOUR, `total timeout ${total} s`);
});

test("the handler's isComplete gives up two polls before the waiter does", () => {
  const retry = waiterRetry();
  const giveUp = Number(env(handler).PROVIDER_GIVE_UP_SECONDS);
  assert.equal(giveUp, retry.IntervalSeconds * retry.MaxAttempts - 2 * retry.IntervalSeconds);
  assert.equal(env(direct).PROVIDER_GIVE_UP_SECONDS, undefined);
});

test('versions are wired both ways: through the provider by default, directly when given a ServiceToken', () => {
  assert.equal(customs.length, 3);
  assert.deepEqual(throughProvider.map(([id]) => id).sort(), ['AdoptedImageVersion', 'ImageVersion']);
  assert.deepEqual(wiredDirectly.map(([id]) => id), ['NextImageVersion']);
});

test('through the provider, ServiceTimeout leaves the framework its time: onEvent, the whole waiter, the last isComplete', () => {
  const retry = waiterRetry();
  const needs = handler.Properties.Timeout + retry.IntervalSeconds * retry.MaxAttempts + handler.Properties.Timeout;
  for (const [id, r] of throughProvider) {
    const seconds = Number(r.Properties.ServiceTimeout);
    assert.ok(seconds > needs && seconds <= ONE_HOUR, `${id}: ServiceTimeout ${seconds}, the framework needs ${needs}`);
  }
});

test('wired directly, ServiceTimeout is above the function timeout and at most 1 h', () => {
  for (const [id, r] of wiredDirectly) {
    const seconds = Number(r.Properties.ServiceTimeout);
    assert.ok(seconds > direct.Properties.Timeout && seconds <= ONE_HOUR, `${id}: ServiceTimeout ${seconds}`);
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
  assert.ok(asArray(second.DependsOn).includes('ImageVersion'), `DependsOn ${JSON.stringify(second.DependsOn)}`);
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
  for (const r of [first, second]) {
    assert.ok(asArray(r.DependsOn).includes(imageId));
  }
});

for (const [mode, fnId] of [
  ['direct', directId],
  ['provider', handlerId],
]) {
  test(`the ${mode} function's role grants exactly the five SageMaker actions on images and image versions, its log group, and (direct) invoking itself`, () => {
    const fn = resources[fnId];
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
    const logs = statements.filter((s) => asArray(s.Action).some((a) => a.startsWith('logs:')));
    assert.deepEqual(logs.flatMap((s) => asArray(s.Action)).sort(), ['logs:CreateLogStream', 'logs:PutLogEvents']);
    assert.deepEqual(logs.flatMap((s) => asArray(s.Resource)), [getAtt(fn.Properties.LoggingConfig.LogGroup.Ref, 'Arn')]);

    // The hand-off: the direct function may invoke itself, the provider's none.
    const lambdaActions = actions.filter((a) => a.startsWith('lambda:'));
    const others = actions.filter((a) => !/^(sagemaker|logs|lambda):/.test(a));
    assert.deepEqual(others, [], 'no other service');
    if (mode === 'direct') {
      assert.deepEqual(lambdaActions, ['lambda:InvokeFunction']);
      const invoked = statements
        .filter((s) => asArray(s.Action).includes('lambda:InvokeFunction'))
        .flatMap((s) => asArray(s.Resource))
        .map((r) => JSON.stringify(r));
      assert.equal(invoked.length, 2);
      assert.ok(invoked.every((r) => r.includes(`"${fnId}"`)), `itself only: ${invoked}`);
    } else {
      assert.deepEqual(lambdaActions, []);
    }

    const sagemakerResources = statements
      .filter((s) => asArray(s.Action).some((a) => a.startsWith('sagemaker:')))
      .flatMap((s) => asArray(s.Resource))
      .map((r) => JSON.stringify(r));
    assert.equal(sagemakerResources.length, 2);
    assert.ok(sagemakerResources.some((r) => r.includes(':sagemaker:*:') && r.includes(':image/*')));
    assert.ok(sagemakerResources.some((r) => r.includes(':sagemaker:*:') && r.includes(':image-version/*')));
  });
}

test('outputs come from Ref and Fn::GetAtt Arn, Version, ContainerImage, ImageArn', () => {
  const values = Object.values(template.Outputs ?? {}).map((o) => o.Value);
  const has = (v) => values.some((x) => JSON.stringify(x) === JSON.stringify(v));
  assert.ok(has({ Ref: 'ImageVersion' }), 'Ref');
  for (const attribute of ['Arn', 'Version', 'ContainerImage', 'ImageArn']) {
    assert.ok(has(getAtt('ImageVersion', attribute)), attribute);
  }
  assert.ok(has(getAtt(directId, 'Arn')), 'ServiceToken output');
});
