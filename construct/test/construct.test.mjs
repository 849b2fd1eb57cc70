// The library's constructs in stacks of their own: the compiled lib/ (jsii,
// scripts/construct-build.sh) with the packages bundled in asset/.
//   node --test test/
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { App, CfnParameter, Duration, Stack } = require('aws-cdk-lib');
const { Template } = require('aws-cdk-lib/assertions');
const lambda = require('aws-cdk-lib/aws-lambda');
const sagemaker = require('aws-cdk-lib/aws-sagemaker');
const { ImageVersionFunction, JobType, SageMakerImageVersion } = require('../lib/index.js');

const newStack = () => new Stack(new App(), 'Test');
const required = { image: 'my-image', baseImage: '123456789012.dkr.ecr.us-east-1.amazonaws.com/repo:1.0' };
const bundled = ['x86_64', 'arm64'].filter((a) => fs.existsSync(path.join(import.meta.dirname, '..', 'asset', a, 'bootstrap.zip')));

test('the versions of a stack share one provider: one handler function, one waiter', () => {
  const stack = newStack();
  new SageMakerImageVersion(stack, 'A', required);
  new SageMakerImageVersion(stack, 'B', required);
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::StepFunctions::StateMachine', 1);
  assert.equal(Object.keys(template.findResources('AWS::Lambda::Function', { Properties: { Runtime: 'provided.al2023' } })).length, 1);
  const tokens = Object.values(template.findResources('Custom::SageMakerImageVersion')).map((r) => JSON.stringify(r.Properties.ServiceToken));
  assert.equal(new Set(tokens).size, 1);
});

test('direct wiring uses the ServiceToken as given and creates no provider', () => {
  const stack = newStack();
  new SageMakerImageVersion(stack, 'V', { ...required, serviceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f' });
  const template = Template.fromStack(stack);
  template.resourceCountIs('AWS::Lambda::Function', 0);
  template.hasResourceProperties('Custom::SageMakerImageVersion', {
    ServiceToken: 'arn:aws:lambda:us-east-1:123456789012:function:f',
    ServiceTimeout: '900',
  });
});

test('through the provider, a serviceTimeout below what the framework may take is refused', () => {
  assert.throws(
    () => new SageMakerImageVersion(newStack(), 'V', { ...required, serviceTimeout: Duration.minutes(30) }),
    /serviceTimeout 30 minutes is below what the CDK Provider framework may take/,
  );
});

test('properties are rendered as CloudFormation sends them: strings, absent ones left out', () => {
  const stack = newStack();
  new SageMakerImageVersion(stack, 'V', { ...required, horovod: true, aliases: ['a'], existingVersion: 3, jobType: JobType.NOTEBOOK_KERNEL });
  const { ServiceToken, ServiceTimeout, ...props } = Object.values(
    Template.fromStack(stack).findResources('Custom::SageMakerImageVersion'),
  )[0].Properties;
  assert.deepEqual(props, {
    ImageName: 'my-image',
    BaseImage: required.baseImage,
    Aliases: ['a'],
    Horovod: 'true',
    ExistingVersion: 3,
    JobType: 'NOTEBOOK_KERNEL',
  });
});

test('existingVersion must be a version number, 1 or more; a token is taken as is', () => {
  for (const bad of [0, -1, 1.5]) {
    assert.throws(() => new SageMakerImageVersion(newStack(), 'V', { ...required, existingVersion: bad }), /existingVersion/);
  }
  const stack = newStack();
  const n = new CfnParameter(stack, 'N', { type: 'Number' });
  new SageMakerImageVersion(stack, 'V', { ...required, existingVersion: n.valueAsNumber });
  Template.fromStack(stack).hasResourceProperties('Custom::SageMakerImageVersion', { ExistingVersion: { Ref: 'N' } });
});

test('a CfnImage gives its name and orders the version after it', () => {
  const stack = newStack();
  const image = new sagemaker.CfnImage(stack, 'Image', { imageName: 'img', imageRoleArn: 'arn:aws:iam::123456789012:role/r' });
  new SageMakerImageVersion(stack, 'V', { ...required, image });
  Template.fromStack(stack).hasResource('Custom::SageMakerImageVersion', {
    Properties: { ImageName: 'img' },
    DependsOn: ['Image'],
  });
});

test('ref and the getters are Ref and Fn::GetAtt Arn, Version, ContainerImage, ImageArn', () => {
  const stack = newStack();
  const v = new SageMakerImageVersion(stack, 'V', required);
  const logicalId = stack.getLogicalId(v.node.defaultChild);
  assert.deepEqual(stack.resolve(v.ref), { Ref: logicalId });
  for (const [value, attribute] of [
    [v.arn, 'Arn'],
    [v.version, 'Version'],
    [v.containerImage, 'ContainerImage'],
    [v.imageArn, 'ImageArn'],
  ]) {
    assert.deepEqual(stack.resolve(value), { 'Fn::GetAtt': [logicalId, attribute] });
  }
});

test('the library bundles the function for x86_64, and its functions deploy a bundled architecture: arm64 when bundled', () => {
  assert.ok(bundled.includes('x86_64'), `asset/ holds ${bundled.join(', ') || 'nothing'}: run scripts/construct-build.sh`);
  const stack = newStack();
  new ImageVersionFunction(stack, 'F');
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
    Architectures: [bundled.includes('arm64') ? 'arm64' : 'x86_64'],
    Handler: 'bootstrap',
    Runtime: 'provided.al2023',
  });
  for (const a of [lambda.Architecture.X86_64, lambda.Architecture.ARM_64]) {
    assert.equal(ImageVersionFunction.bundledPackage(a) !== undefined, bundled.includes(a.name), a.name);
  }
});

test('an architecture the library does not bundle is refused, naming those it does', { skip: bundled.includes('arm64') && 'both are bundled' }, () => {
  assert.throws(
    () => new ImageVersionFunction(newStack(), 'F', { architecture: lambda.Architecture.ARM_64 }),
    /F: this build of cdk-sagemaker-image-version bundles no package for arm64 \(it has: x86_64\)/,
  );
});

test('a package given as code replaces the bundled one, for the architecture given', () => {
  const stack = newStack();
  const zip = ImageVersionFunction.bundledPackage(lambda.Architecture.X86_64);
  new ImageVersionFunction(stack, 'F', { code: lambda.Code.fromAsset(zip), architecture: lambda.Architecture.X86_64 });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', { Architectures: ['x86_64'] });
});

test('logLevel sets RUST_LOG and the application log level; another value is refused', () => {
  const stack = newStack();
  new ImageVersionFunction(stack, 'F', { logLevel: 'debug' });
  Template.fromStack(stack).hasResourceProperties('AWS::Lambda::Function', {
    Environment: { Variables: { RUST_LOG: 'debug' } },
    LoggingConfig: { ApplicationLogLevel: 'DEBUG', LogFormat: 'JSON' },
  });
  assert.throws(() => new ImageVersionFunction(newStack(), 'G', { logLevel: 'verbose' }), /G: logLevel must be one of trace, debug, info, warn, error/);
});
