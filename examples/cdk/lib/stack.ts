import {
  Aws,
  CfnCondition,
  CfnOutput,
  CfnParameter,
  CfnResource,
  Duration,
  Fn,
  RemovalPolicy,
  Stack,
  StackProps,
  Token,
} from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import {
  ImageVersionFunction,
  JobType,
  Processor,
  SageMakerImageVersion,
  VendorGuidance,
} from 'cdk-sagemaker-image-version';
import { Construct } from 'constructs';

/** The direct function's timeout; it must stay below its resources' serviceTimeout. */
const FUNCTION_TIMEOUT = Duration.minutes(10);

const ECR_URI_PATTERN =
  '^[0-9]{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com(\\.cn)?/[a-z0-9._/-]+(:[A-Za-z0-9._-]+|@sha256:[a-f0-9]{64})$';

export interface SageMakerImageVersionStackProps extends StackProps {
  /** Name of the SageMaker image to create. */
  readonly imageName: string;
}

/**
 * A SageMaker image and its versions, declared with the SageMakerImageVersion
 * construct in both wirings: through the stack's CDK Provider (the default),
 * and directly to a function that answers CloudFormation itself (the wiring a
 * plain CloudFormation or SAM template uses; its ARN is the ServiceToken
 * output). The functions' package is the one the library bundles.
 */
export class SageMakerImageVersionStack extends Stack {
  constructor(scope: Construct, id: string, props: SageMakerImageVersionStackProps) {
    super(scope, id, props);

    // ---- The direct function ---------------------------------------------
    const direct = new ImageVersionFunction(this, 'Direct', {
      timeout: FUNCTION_TIMEOUT,
      functionName: `${this.stackName}-provider`,
    }).function;

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

    // Every property set, through the stack's CDK Provider (the default wiring).
    const version = new SageMakerImageVersion(this, 'ImageVersion', {
      image,
      baseImage: baseImage.valueAsString,
      region: Aws.REGION,
      aliases: ['stable', '1.0'],
      horovod: false,
      jobType: JobType.TRAINING,
      mlFramework: 'PyTorch 2.3',
      programmingLang: 'Python 3.11',
      processor: Processor.GPU,
      releaseNotes: 'First version of the example image',
      vendorGuidance: VendorGuidance.STABLE,
    });

    // A second version of the same image, wired directly to the function.
    // SageMaker refuses to create two versions of one image at the same time,
    // so it waits for the first.
    const nextVersion = new SageMakerImageVersion(this, 'NextImageVersion', {
      image,
      baseImage: nextBaseImage.valueAsString,
      aliases: ['latest'],
      jobType: JobType.TRAINING,
      processor: Processor.GPU,
      releaseNotes: 'Second version of the example image',
      vendorGuidance: VendorGuidance.NOT_PROVIDED,
      serviceToken: direct.functionArn,
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
    const adopted = new SageMakerImageVersion(this, 'AdoptedImageVersion', {
      image: existingImageName.valueAsString,
      existingVersion: Token.asNumber(existingVersion.valueAsString),
      baseImage: existingBaseImage.valueAsString,
      aliases: ['adopted'],
      releaseNotes: 'Managed by CloudFormation since it was taken over',
      removalPolicy: RemovalPolicy.RETAIN,
    });
    (adopted.node.defaultChild as CfnResource).cfnOptions.condition = takeOver;

    // ---- Outputs -----------------------------------------------------------
    new CfnOutput(this, 'ServiceToken', {
      description: 'ServiceToken for Custom::SageMakerImageVersion resources wired directly (the function ARN)',
      value: direct.functionArn,
    });
    new CfnOutput(this, 'ImageVersionArn', {
      description: 'Ref of the custom resource: the image version ARN',
      value: version.ref,
    });
    new CfnOutput(this, 'ImageVersionArnAttribute', { value: version.arn });
    new CfnOutput(this, 'ImageVersionNumber', { value: version.version });
    new CfnOutput(this, 'ImageVersionContainerImage', { value: version.containerImage });
    new CfnOutput(this, 'ImageVersionImageArn', { value: version.imageArn });
    new CfnOutput(this, 'NextImageVersionArn', { value: nextVersion.ref });
    new CfnOutput(this, 'NextImageVersionNumber', { value: nextVersion.version });
  }
}
