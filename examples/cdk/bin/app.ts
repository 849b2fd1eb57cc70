#!/usr/bin/env node
// CDK app: an example SageMaker image with versions of Custom::SageMakerImageVersion,
// through the stack's CDK Provider and directly, in one environment-agnostic stack.
//
//   npx cdk deploy --parameters BaseImage=ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG \
//                  --parameters NextBaseImage=ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG2
//
// Context (-c KEY=VALUE):
//   bootstrapZip  the functions' bootstrap.zip (default: $BOOTSTRAP_ZIP, else
//                 ../../target/lambda/sagemaker-image-version/bootstrap.zip,
//                 made by `make package` at the repository root); relative
//                 paths are taken from this directory
//   imageName     name of the SageMaker image (default cdk-example-image)
//   stackName     name of the stack (default SageMakerImageVersionExample)
import { App } from 'aws-cdk-lib';
import { SageMakerImageVersionStack } from '../lib/stack';

const app = new App();
new SageMakerImageVersionStack(app, app.node.tryGetContext('stackName') ?? 'SageMakerImageVersionExample', {
  description: 'An example SageMaker image with versions of Custom::SageMakerImageVersion, through a CDK Provider and directly',
  imageName: app.node.tryGetContext('imageName') ?? 'cdk-example-image',
});
