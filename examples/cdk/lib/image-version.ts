import { CustomResource, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { FRAMEWORK_NEEDS, ImageVersionProvider, PROVIDER_SERVICE_TIMEOUT } from './provider';

export type JobType = 'TRAINING' | 'INFERENCE' | 'NOTEBOOK_KERNEL';
export type Processor = 'CPU' | 'GPU';
export type VendorGuidance = 'NOT_PROVIDED' | 'STABLE' | 'TO_BE_ARCHIVED' | 'ARCHIVED';

/** The resources' default ServiceTimeout with direct wiring (above the function's timeout). */
export const DIRECT_SERVICE_TIMEOUT = Duration.minutes(15);

/** The properties of Custom::SageMakerImageVersion (README, "Properties"), typed. */
export interface SageMakerImageVersionProps {
  /** The image: an `AWS::SageMaker::Image` of this stack (the version depends on it), or the name of an existing one. */
  readonly image: sagemaker.CfnImage | string;
  /** The ECR URI of the container image. Changing it replaces the version. */
  readonly baseImage: string;
  /** The aliases the version holds, exactly; one held by another version of the image moves to this one. */
  readonly aliases?: string[];
  readonly horovod?: boolean;
  readonly jobType?: JobType;
  /** `[a-zA-Z]+ ?\d+\.\d+(\.\d+)?`, e.g. `PyTorch 2.3`. */
  readonly mlFramework?: string;
  /** Same pattern, e.g. `Python 3.11`. */
  readonly programmingLang?: string;
  readonly processor?: Processor;
  readonly releaseNotes?: string;
  readonly vendorGuidance?: VendorGuidance;
  /** Default: the function's region. Changing it replaces the version. */
  readonly region?: string;
  /** Take over this existing version of the image at Create instead of creating one (`Token.asNumber` for a parameter). */
  readonly existingVersion?: number;
  /**
   * Direct wiring: the ARN of a function running the binary in its default
   * mode, which answers CloudFormation itself. Default: the stack's singleton
   * CDK Provider ({@link ImageVersionProvider}).
   */
  readonly serviceToken?: string;
  /**
   * How long CloudFormation waits for an answer. Default: 1 h with the
   * provider (it must leave the framework its time), 15 min with direct wiring.
   */
  readonly serviceTimeout?: Duration;
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A SageMaker image version, `Custom::SageMakerImageVersion`. `ref` is the
 * version ARN.
 */
export class SageMakerImageVersion extends CustomResource {
  constructor(scope: Construct, id: string, props: SageMakerImageVersionProps) {
    const direct = props.serviceToken !== undefined;
    const serviceTimeout = props.serviceTimeout ?? (direct ? DIRECT_SERVICE_TIMEOUT : PROVIDER_SERVICE_TIMEOUT);
    if (!direct && serviceTimeout.toSeconds() < FRAMEWORK_NEEDS.toSeconds()) {
      throw new Error(
        `${id}: serviceTimeout ${serviceTimeout.toHumanString()} is below what the CDK Provider framework ` +
          `may take (${FRAMEWORK_NEEDS.toHumanString()})`,
      );
    }
    const existing = props.existingVersion;
    if (existing !== undefined && !Token.isUnresolved(existing) && !(Number.isInteger(existing) && existing >= 1)) {
      throw new Error(`${id}: existingVersion must be a version number, 1 or more (got ${existing})`);
    }
    super(scope, id, {
      serviceToken: props.serviceToken ?? ImageVersionProvider.of(scope).serviceToken,
      resourceType: 'Custom::SageMakerImageVersion',
      serviceTimeout,
      removalPolicy: props.removalPolicy,
      properties: {
        ImageName: typeof props.image === 'string' ? props.image : props.image.imageName,
        BaseImage: props.baseImage,
        Region: props.region,
        Aliases: props.aliases,
        // CloudFormation hands every scalar over as a string.
        Horovod: props.horovod === undefined ? undefined : String(props.horovod),
        JobType: props.jobType,
        MLFramework: props.mlFramework,
        ProgrammingLang: props.programmingLang,
        Processor: props.processor,
        ReleaseNotes: props.releaseNotes,
        VendorGuidance: props.vendorGuidance,
        ExistingVersion: existing,
      },
    });
    if (typeof props.image !== 'string') {
      this.node.addDependency(props.image);
    }
  }

  /** The image version ARN (`Fn::GetAtt Arn`; the same as `ref`). */
  get arn(): string {
    return this.getAttString('Arn');
  }

  /** The version number, as a string (`Fn::GetAtt Version`). */
  get version(): string {
    return this.getAttString('Version');
  }

  /** The container image SageMaker resolved from `baseImage` (`Fn::GetAtt ContainerImage`). */
  get containerImage(): string {
    return this.getAttString('ContainerImage');
  }

  /** The image's ARN (`Fn::GetAtt ImageArn`). */
  get imageArn(): string {
    return this.getAttString('ImageArn');
  }
}
