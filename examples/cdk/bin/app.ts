#!/usr/bin/env node
// CDK app: an example SageMaker image with versions of Custom::SageMakerImageVersion,
// through the stack's CDK Provider and directly, in one environment-agnostic stack.
//
//   npx cdk deploy --parameters BaseImage=ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG \
//                  --parameters NextBaseImage=ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG2
//
// The constructs come from the library cdk-sagemaker-image-version
// (../../construct, which bundles the function), installed by npm ci.
//
// Context (-c KEY=VALUE):
//   imageName     name of the SageMaker image (default cdk-example-image)
//   stackName     name of the stack (default SageMakerImageVersionExample)
import { App } from 'aws-cdk-lib';
import { SageMakerImageVersionStack } from '../lib/stack';

const app = new App();
new SageMakerImageVersionStack(app, app.node.tryGetContext('stackName') ?? 'SageMakerImageVersionExample', {
  description: 'An example SageMaker image with versions of Custom::SageMakerImageVersion, through a CDK Provider and directly',
  imageName: app.node.tryGetContext('imageName') ?? 'cdk-example-image',
});
