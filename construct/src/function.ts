import * as fs from 'fs';
import * as path from 'path';
import { Aws, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';

/** How the function is driven. */
export enum ProviderFramework {
  /** It answers CloudFormation itself: its ARN is the resources' ServiceToken (direct wiring). */
  CLOUDFORMATION = 'cloudformation',
  /** It is the `onEvent` and `isComplete` handler of CDK's Provider framework (`PROVIDER_FRAMEWORK=cdk`), which answers CloudFormation. */
  CDK = 'cdk',
}

/** Props of {@link ImageVersionFunction}. */
export interface ImageVersionFunctionProps {
  /**
   * How the function is driven.
   *
   * @default ProviderFramework.CLOUDFORMATION
   */
  readonly framework?: ProviderFramework;

  /**
   * The Lambda timeout: how long one invocation works before it hands a
   * request on to a new invocation (direct wiring). It must stay below the
   * `serviceTimeout` of the resources wired to it.
   *
   * @default Duration.minutes(10)
   */
  readonly timeout?: Duration;

  /**
   * The function's name; its log group is then `/aws/lambda/NAME`.
   *
   * @default a name CloudFormation makes up
   */
  readonly functionName?: string;

  /**
   * More environment variables for the function (see docs/operations.md for
   * the settings it reads).
   *
   * @default none
   */
  readonly environment?: { [key: string]: string };

  /**
   * The instruction set of the bundled package to deploy.
   *
   * @default arm64 when this package bundles it, else x86_64
   */
  readonly architecture?: lambda.Architecture;

  /**
   * The function's package, instead of the one bundled here: a zip holding
   * an executable `bootstrap` built from the same release (`make release`).
   * Its architecture must be `architecture`.
   *
   * @default the package bundled in this library for `architecture`
   */
  readonly code?: lambda.Code;

  /**
   * The function's RUST_LOG filter and Lambda's application log level.
   *
   * @default 'info'
   */
  readonly logLevel?: string;

  /**
   * How long its logs are kept.
   *
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly logRetention?: logs.RetentionDays;
}

/** The Lambda application log level for each RUST_LOG level. */
const APPLICATION_LOG_LEVELS: { [level: string]: lambda.ApplicationLogLevel } = {
  trace: lambda.ApplicationLogLevel.TRACE,
  debug: lambda.ApplicationLogLevel.DEBUG,
  info: lambda.ApplicationLogLevel.INFO,
  warn: lambda.ApplicationLogLevel.WARN,
  error: lambda.ApplicationLogLevel.ERROR,
};

/**
 * The Custom::SageMakerImageVersion function, from the package bundled in
 * this library, with a least-privilege role: the five SageMaker actions on
 * the account's images and image versions, writing to its own log group and,
 * answering CloudFormation itself, invoking itself (the hand-off of a request
 * longer than one invocation).
 */
export class ImageVersionFunction extends Construct {
  /** The SageMaker actions the function calls: exactly these, no others. */
  public static readonly SAGEMAKER_ACTIONS: string[] = [
    'sagemaker:CreateImageVersion',
    'sagemaker:DescribeImageVersion',
    'sagemaker:UpdateImageVersion',
    'sagemaker:DeleteImageVersion',
    'sagemaker:ListAliases',
  ];

  /** The default Lambda timeout. */
  public static readonly DEFAULT_TIMEOUT: Duration = Duration.minutes(10);

  /**
   * The path of the package bundled for an architecture (`x86_64` or
   * `arm64`), or undefined when this build of the library has none for it.
   */
  public static bundledPackage(architecture: lambda.Architecture): string | undefined {
    const zip = path.join(__dirname, '..', 'asset', architecture.name, 'bootstrap.zip');
    return fs.existsSync(zip) ? zip : undefined;
  }

  /** The Lambda function. */
  public readonly function: lambda.Function;

  /** Its log group. */
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: ImageVersionFunctionProps = {}) {
    super(scope, id);
    const framework = props.framework ?? ProviderFramework.CLOUDFORMATION;
    const logLevel = props.logLevel ?? 'info';
    const applicationLogLevel = APPLICATION_LOG_LEVELS[logLevel];
    if (applicationLogLevel === undefined) {
      throw new Error(`${id}: logLevel must be one of ${Object.keys(APPLICATION_LOG_LEVELS).join(', ')} (got ${logLevel})`);
    }
    const architecture =
      props.architecture ??
      (ImageVersionFunction.bundledPackage(lambda.Architecture.ARM_64) !== undefined
        ? lambda.Architecture.ARM_64
        : lambda.Architecture.X86_64);

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      logGroupName: props.functionName === undefined ? undefined : `/aws/lambda/${props.functionName}`,
      retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new iam.Role(this, 'Role', {
      description: `Execution role of the Custom::SageMakerImageVersion function (${framework})`,
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        'sagemaker-image-versions': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({
              actions: ImageVersionFunction.SAGEMAKER_ACTIONS,
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
    this.logGroup.grantWrite(role);

    this.function = new lambda.Function(this, 'Function', {
      functionName: props.functionName,
      description:
        framework === ProviderFramework.CDK
          ? 'Custom::SageMakerImageVersion, onEvent and isComplete of the CDK Provider framework'
          : 'CloudFormation custom resource Custom::SageMakerImageVersion',
      code: props.code ?? bundledCode(id, architecture),
      handler: 'bootstrap',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture,
      memorySize: 128,
      timeout: props.timeout ?? ImageVersionFunction.DEFAULT_TIMEOUT,
      role,
      environment: {
        RUST_LOG: logLevel,
        ...(framework === ProviderFramework.CDK ? { PROVIDER_FRAMEWORK: 'cdk' } : {}),
        ...props.environment,
      },
      logGroup: this.logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: applicationLogLevel,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
    });

    // Answering CloudFormation itself, the function hands a request longer
    // than one invocation to a new invocation of itself: it may invoke itself,
    // nothing else. A policy of its own, not the role's: the function depends
    // on its role, and this policy on the function's ARN.
    if (framework === ProviderFramework.CLOUDFORMATION) {
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

function bundledCode(id: string, architecture: lambda.Architecture): lambda.Code {
  const zip = ImageVersionFunction.bundledPackage(architecture);
  if (zip === undefined) {
    const bundled = [lambda.Architecture.X86_64, lambda.Architecture.ARM_64]
      .filter((a) => ImageVersionFunction.bundledPackage(a) !== undefined)
      .map((a) => a.name);
    throw new Error(
      `${id}: this build of cdk-sagemaker-image-version bundles no package for ${architecture.name} ` +
        `(it has: ${bundled.join(', ') || 'none'}); pick one of those, or give \`code\``,
    );
  }
  return lambda.Code.fromAsset(zip);
}
