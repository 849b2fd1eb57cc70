import * as fs from 'node:fs';
import * as path from 'node:path';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** The SageMaker actions the binary calls (src/sagemaker/sdk.rs): exactly these, no others. */
export const SAGEMAKER_ACTIONS = [
  'sagemaker:CreateImageVersion',
  'sagemaker:DescribeImageVersion',
  'sagemaker:UpdateImageVersion',
  'sagemaker:DeleteImageVersion',
  'sagemaker:ListAliases',
];

/** How the binary is driven: `cloudformation` answers CloudFormation itself; `cdk` is CDK's Provider framework's user handler. */
export type ProviderFramework = 'cloudformation' | 'cdk';

export interface ImageVersionFunctionProps {
  /** `cdk` sets PROVIDER_FRAMEWORK=cdk: the binary never answers CloudFormation, the framework does. */
  readonly framework: ProviderFramework;
  readonly timeout: Duration;
  /** Default: a name CloudFormation makes up. */
  readonly functionName?: string;
  /** More environment for the binary. */
  readonly environment?: Record<string, string>;
}

/**
 * The Rust binary as a Lambda function (the package of `make package`), with a
 * least-privilege role: the five SageMaker actions on the account's images and
 * image versions, and writing to its own log group.
 */
export class ImageVersionFunction extends Construct {
  readonly function: lambda.Function;

  constructor(scope: Construct, id: string, props: ImageVersionFunctionProps) {
    super(scope, id);

    const logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: props.functionName === undefined ? undefined : `/aws/lambda/${props.functionName}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new iam.Role(this, 'Role', {
      description: `Execution role of the Custom::SageMakerImageVersion function (${props.framework})`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        'sagemaker-image-versions': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: SAGEMAKER_ACTIONS,
              // Region * because the resource's Region property may target
              // another region than the function's.
              resources: [
                `arn:${Aws.PARTITION}:sagemaker:*:${Aws.ACCOUNT_ID}:image/*`,
                `arn:${Aws.PARTITION}:sagemaker:*:${Aws.ACCOUNT_ID}:image-version/*`,
              ],
            }),
          ],
        }),
      },
    });
    // logs:CreateLogStream and logs:PutLogEvents on this log group only.
    logGroup.grantWrite(role);

    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description:
        props.framework === 'cdk'
          ? 'Custom::SageMakerImageVersion, onEvent and isComplete of the CDK Provider framework'
          : 'CloudFormation custom resource Custom::SageMakerImageVersion',
      code: bootstrapCode(this),
      handler: 'bootstrap',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      timeout: props.timeout,
      role,
      environment: {
        RUST_LOG: 'info',
        ...(props.framework === 'cdk' ? { PROVIDER_FRAMEWORK: 'cdk' } : {}),
        ...props.environment,
      },
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
    });

    // Answering CloudFormation itself, the function hands a request longer
    // than one invocation to a new invocation of itself: it may invoke itself,
    // nothing else. A policy of its own, not the role's: the function depends
    // on its role, and this policy on the function's ARN.
    if (props.framework === 'cloudformation') {
      new iam.Policy(this, 'HandOff', {
        roles: [role],
        statements: [
          new iam.PolicyStatement({
            actions: ['lambda:InvokeFunction'],
            resources: [this.function.functionArn, `${this.function.functionArn}:*`],
          }),
        ],
      });
    }
  }
}

/**
 * The deployment package: context `bootstrapZip`, else $BOOTSTRAP_ZIP, else the
 * `make package` output; relative paths are taken from the working directory.
 */
export function bootstrapZipPath(contextValue: unknown, cwd: string = process.cwd()): string {
  const fromContext = typeof contextValue === 'string' && contextValue !== '' ? contextValue : undefined;
  const chosen =
    fromContext ??
    process.env.BOOTSTRAP_ZIP ??
    path.join('..', '..', 'target', 'lambda', 'sagemaker-image-version', 'bootstrap.zip');
  return path.resolve(cwd, chosen);
}

function bootstrapCode(scope: Construct): lambda.Code {
  const zip = bootstrapZipPath(scope.node.tryGetContext('bootstrapZip'));
  if (!fs.existsSync(zip)) {
    throw new Error(
      `Lambda package ${zip} does not exist: build it with \`make package\` at the ` +
        'repository root, or pass another with `-c bootstrapZip=PATH` (or BOOTSTRAP_ZIP=PATH).',
    );
  }
  return lambda.Code.fromAsset(zip);
}
