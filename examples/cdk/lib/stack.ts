import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  CfnResource,
  CustomResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';

/** The SageMaker actions the provider calls: exactly these, no others. */
export const SAGEMAKER_ACTIONS = [
  'sagemaker:CreateImageVersion',
  'sagemaker:DescribeImageVersion',
  'sagemaker:UpdateImageVersion',
  'sagemaker:DeleteImageVersion',
  'sagemaker:ListAliases',
];

/** The provider function's timeout; it must stay below the custom resources' serviceTimeout. */
const FUNCTION_TIMEOUT = Duration.minutes(10);
/** How long CloudFormation waits for the provider (1 s to 1 h). */
const SERVICE_TIMEOUT = Duration.minutes(15);

const ECR_URI_PATTERN =
  '^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$';

export interface SageMakerImageVersionStackProps extends StackProps {
  /**
   * The provider's deployment package: the bootstrap.zip made by `make package`
   * (target/lambda/sagemaker-image-version/bootstrap.zip at the repository root).
   */
  readonly bootstrapZip: string;
  /** Name of the SageMaker image to create. */
  readonly imageName: string;
}

/**
 * The Custom::SageMakerImageVersion provider function with a least-privilege
 * role, a SageMaker image, and two versions of that image.
 */
export class SageMakerImageVersionStack extends Stack {
  constructor(scope: Construct, id: string, props: SageMakerImageVersionStackProps) {
    super(scope, id, props);

    if (!fs.existsSync(props.bootstrapZip)) {
      throw new Error(
        `Lambda package ${props.bootstrapZip} does not exist: build it with \`make package\` at the ` +
          'repository root, or pass another with `-c bootstrapZip=PATH` (or BOOTSTRAP_ZIP=PATH).',
      );
    }

    // ---- The provider ----------------------------------------------------
    const functionName = `${this.stackName}-provider`;
    const logGroup = new logs.LogGroup(this, 'FunctionLogGroup', {
      logGroupName: `/aws/lambda/${functionName}`,
      retention: logs.RetentionDays.ONE_MONTH,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const role = new iam.Role(this, 'FunctionRole', {
      description: 'Execution role of the Custom::SageMakerImageVersion provider function',
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

    const fn = new lambda.Function(this, 'Function', {
      functionName,
      description: 'CloudFormation custom resource Custom::SageMakerImageVersion',
      code: lambda.Code.fromAsset(props.bootstrapZip),
      handler: 'bootstrap',
      runtime: lambda.Runtime.PROVIDED_AL2023,
      architecture: lambda.Architecture.ARM_64,
      memorySize: 128,
      timeout: FUNCTION_TIMEOUT,
      role,
      environment: { RUST_LOG: 'info' },
      logGroup,
      loggingFormat: lambda.LoggingFormat.JSON,
      applicationLogLevelV2: lambda.ApplicationLogLevel.INFO,
      systemLogLevelV2: lambda.SystemLogLevel.INFO,
    });

    // ---- A SageMaker image with two versions ------------------------------
    const baseImage = new CfnParameter(this, 'BaseImage', {
      type: 'String',
      allowedPattern: ECR_URI_PATTERN,
      description: 'ECR URI of the container image of the first image version',
    });
    const nextBaseImage = new CfnParameter(this, 'NextBaseImage', {
      type: 'String',
      allowedPattern: ECR_URI_PATTERN,
      description: 'ECR URI of the container image of the second image version',
    });

    // Role that SageMaker assumes for the image: it pulls the versions'
    // container images from ECR.
    const imageRole = new iam.Role(this, 'ImageRole', {
      assumedBy: new iam.ServicePrincipal('sagemaker.amazonaws.com'),
      inlinePolicies: {
        'ecr-pull': new iam.PolicyDocument({
          statements: [
            new iam.PolicyStatement({ actions: ['ecr:GetAuthorizationToken'], resources: ['*'] }),
            new iam.PolicyStatement({
              actions: ['ecr:BatchCheckLayerAvailability', 'ecr:BatchGetImage', 'ecr:GetDownloadUrlForLayer'],
              resources: [`arn:${Aws.PARTITION}:ecr:*:${Aws.ACCOUNT_ID}:repository/*`],
            }),
          ],
        }),
      },
    });

    const image = new sagemaker.CfnImage(this, 'Image', {
      imageName: props.imageName,
      imageDisplayName: 'Example image',
      imageDescription: 'Image whose versions are managed by Custom::SageMakerImageVersion',
      imageRoleArn: imageRole.roleArn,
    });

    // Every property set. CloudFormation hands all values to the provider as
    // strings, so booleans are written as 'true'/'false'.
    const version = new CustomResource(this, 'ImageVersion', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::SageMakerImageVersion',
      serviceTimeout: SERVICE_TIMEOUT,
      properties: {
        ImageName: image.imageName,
        BaseImage: baseImage.valueAsString,
        Region: Aws.REGION,
        Aliases: ['stable', '1.0'],
        Horovod: 'false',
        JobType: 'TRAINING',
        MLFramework: 'PyTorch 2.3',
        ProgrammingLang: 'Python 3.11',
        Processor: 'GPU',
        ReleaseNotes: 'First version of the example image',
        VendorGuidance: 'STABLE',
      },
    });
    version.node.addDependency(image);

    // A second version of the same image. SageMaker refuses to create two
    // versions of one image at the same time, so it waits for the first.
    const nextVersion = new CustomResource(this, 'NextImageVersion', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::SageMakerImageVersion',
      serviceTimeout: SERVICE_TIMEOUT,
      properties: {
        ImageName: image.imageName,
        BaseImage: nextBaseImage.valueAsString,
        Aliases: ['latest'],
        JobType: 'TRAINING',
        Processor: 'GPU',
        ReleaseNotes: 'Second version of the example image',
        VendorGuidance: 'NOT_PROVIDED',
      },
    });
    nextVersion.node.addDependency(version);

    // A version made by hand or by another tool, brought under the stack
    // (Terraform's import): Create takes it over instead of creating one, when
    // the ExistingImageName and ExistingVersion parameters are set. Taking
    // over means the stack may delete it: RETAIN keeps it.
    const existingImageName = new CfnParameter(this, 'ExistingImageName', {
      type: 'String',
      default: '',
      description: 'To take over a version made outside this stack: the name of its image (empty: none)',
    });
    const existingVersion = new CfnParameter(this, 'ExistingVersion', {
      type: 'String',
      default: '',
      allowedPattern: '^([1-9][0-9]*)?$',
      description: 'The number of the version to take over',
    });
    const existingBaseImage = new CfnParameter(this, 'ExistingBaseImage', {
      type: 'String',
      default: '',
      description: 'The BaseImage the version to take over was made with',
    });
    const takeOver = new CfnCondition(this, 'TakeOverExistingVersion', {
      expression: Fn.conditionAnd(
        Fn.conditionNot(Fn.conditionEquals(existingImageName.valueAsString, '')),
        Fn.conditionNot(Fn.conditionEquals(existingVersion.valueAsString, '')),
      ),
    });
    const adopted = new CustomResource(this, 'AdoptedImageVersion', {
      serviceToken: fn.functionArn,
      resourceType: 'Custom::SageMakerImageVersion',
      serviceTimeout: SERVICE_TIMEOUT,
      removalPolicy: RemovalPolicy.RETAIN,
      properties: {
        ImageName: existingImageName.valueAsString,
        ExistingVersion: existingVersion.valueAsString,
        BaseImage: existingBaseImage.valueAsString,
        Aliases: ['adopted'],
        ReleaseNotes: 'Managed by CloudFormation since it was taken over',
      },
    });
    (adopted.node.defaultChild as CfnResource).cfnOptions.condition = takeOver;

    // ---- Outputs -----------------------------------------------------------
    new CfnOutput(this, 'ServiceToken', {
      description: 'ServiceToken for Custom::SageMakerImageVersion resources (the function ARN)',
      value: fn.functionArn,
    });
    new CfnOutput(this, 'ImageVersionArn', {
      description: 'Ref of the custom resource: the image version ARN',
      value: version.ref,
    });
    new CfnOutput(this, 'ImageVersionArnAttribute', { value: version.getAttString('Arn') });
    new CfnOutput(this, 'ImageVersionNumber', { value: version.getAttString('Version') });
    new CfnOutput(this, 'ImageVersionContainerImage', { value: version.getAttString('ContainerImage') });
    new CfnOutput(this, 'NextImageVersionArn', { value: nextVersion.ref });
    new CfnOutput(this, 'NextImageVersionNumber', { value: nextVersion.getAttString('Version') });
  }
}

/** Resolves the deployment package: context bootstrapZip, else $BOOTSTRAP_ZIP, else the `make package` output. */
export function bootstrapZipPath(contextValue: unknown, cwd: string = process.cwd()): string {
  const fromContext = typeof contextValue === 'string' && contextValue !== '' ? contextValue : undefined;
  const chosen =
    fromContext ??
    process.env.BOOTSTRAP_ZIP ??
    path.join('..', '..', 'target', 'lambda', 'sagemaker-image-version', 'bootstrap.zip');
  return path.resolve(cwd, chosen);
}
