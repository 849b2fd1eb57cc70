import { CustomResource, Duration, RemovalPolicy, Token } from 'aws-cdk-lib';
import * as sagemaker from 'aws-cdk-lib/aws-sagemaker';
import { Construct } from 'constructs';
import { ImageVersionProvider } from './provider';

/** What the image version is for (`JobType`). */
export enum JobType {
  /** Training jobs. */
  TRAINING = 'TRAINING',
  /** Inference. */
  INFERENCE = 'INFERENCE',
  /** Notebook kernels. */
  NOTEBOOK_KERNEL = 'NOTEBOOK_KERNEL',
}

/** The processor the image version is for (`Processor`). */
export enum Processor {
  /** CPU. */
  CPU = 'CPU',
  /** GPU. */
  GPU = 'GPU',
}

/** The vendor's guidance on the image version (`VendorGuidance`). */
export enum VendorGuidance {
  /** None given. */
  NOT_PROVIDED = 'NOT_PROVIDED',
  /** Stable. */
  STABLE = 'STABLE',
  /** To be archived. */
  TO_BE_ARCHIVED = 'TO_BE_ARCHIVED',
  /** Archived. */
  ARCHIVED = 'ARCHIVED',
}

/**
 * The properties of Custom::SageMakerImageVersion, typed (the README's
 * Properties table: each is checked by the function before anything is sent
 * to SageMaker, and a bad value fails the resource naming it).
 */
export interface SageMakerImageVersionProps {
  /**
   * The image (`ImageName`): an `AWS::SageMaker::Image` of this stack (the
   * version then depends on it), or the name of an existing one. Changing it
   * replaces the version.
   */
  readonly image: sagemaker.CfnImage | string;

  /**
   * The ECR URI of the container image (`BaseImage`). Changing it replaces
   * the version.
   */
  readonly baseImage: string;

  /**
   * The region of the image (`Region`). Changing it replaces the version.
   *
   * @default the function's region
   */
  readonly region?: string;

  /**
   * The aliases the version holds, exactly (`Aliases`); one held by another
   * version of the image moves to this one. Each 1-128 of
   * `[a-zA-Z0-9-_.]`, not starting with `.` or `-`.
   *
   * @default none
   */
  readonly aliases?: string[];

  /**
   * Whether the image version supports Horovod (`Horovod`).
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly horovod?: boolean;

  /**
   * What the image version is for (`JobType`).
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly jobType?: JobType;

  /**
   * The machine learning framework (`MLFramework`),
   * `[a-zA-Z]+ ?\d+\.\d+(\.\d+)?`, such as `PyTorch 2.3`.
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly mlFramework?: string;

  /**
   * The programming language (`ProgrammingLang`), same pattern, such as
   * `Python 3.11`.
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly programmingLang?: string;

  /**
   * The processor the image version is for (`Processor`).
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly processor?: Processor;

  /**
   * Release notes (`ReleaseNotes`), 1-255 characters on one line.
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly releaseNotes?: string;

  /**
   * The vendor's guidance (`VendorGuidance`).
   *
   * @default not set (removing it later leaves SageMaker's value as it is)
   */
  readonly vendorGuidance?: VendorGuidance;

  /**
   * Take over this existing version of the image at Create instead of
   * creating one (`ExistingVersion`, 1 or more; `Token.asNumber` for a
   * parameter). Taking over means the stack may delete it: see
   * `removalPolicy`.
   *
   * @default a new version is created
   */
  readonly existingVersion?: number;

  /**
   * Direct wiring: the ARN of a function that answers CloudFormation itself,
   * such as an {@link ImageVersionFunction}'s or the SAM application's
   * `ServiceToken` output.
   *
   * @default the stack's {@link ImageVersionProvider}, through CDK's Provider framework
   */
  readonly serviceToken?: string;

  /**
   * How long CloudFormation waits for an answer (`ServiceTimeout`, at most
   * 1 h). Through the provider it must leave the framework its time
   * (`ImageVersionProvider.FRAMEWORK_NEEDS`): a lower value is refused.
   *
   * @default 1 h through the provider, 15 min with direct wiring
   */
  readonly serviceTimeout?: Duration;

  /**
   * What happens to the version when the resource leaves the stack.
   *
   * @default RemovalPolicy.DESTROY
   */
  readonly removalPolicy?: RemovalPolicy;
}

/**
 * A SageMaker image version, `Custom::SageMakerImageVersion`. `ref` is the
 * version ARN.
 */
export class SageMakerImageVersion extends CustomResource {
  /** The resources' default `serviceTimeout` with direct wiring (above the function's default timeout). */
  public static readonly DIRECT_SERVICE_TIMEOUT: Duration = Duration.minutes(15);

  constructor(scope: Construct, id: string, props: SageMakerImageVersionProps) {
    const direct = props.serviceToken !== undefined;
    const serviceTimeout =
      props.serviceTimeout ??
      (direct ? SageMakerImageVersion.DIRECT_SERVICE_TIMEOUT : ImageVersionProvider.DEFAULT_SERVICE_TIMEOUT);
    const needs = ImageVersionProvider.FRAMEWORK_NEEDS;
    if (!direct && serviceTimeout.toSeconds() < needs.toSeconds()) {
      throw new Error(
        `${id}: serviceTimeout ${serviceTimeout.toHumanString()} is below what the CDK Provider framework ` +
          `may take (${needs.toHumanString()})`,
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
  public get arn(): string {
    return this.getAttString('Arn');
  }

  /** The version number, as a string (`Fn::GetAtt Version`). */
  public get version(): string {
    return this.getAttString('Version');
  }

  /** The container image SageMaker resolved from `baseImage` (`Fn::GetAtt ContainerImage`). */
  public get containerImage(): string {
    return this.getAttString('ContainerImage');
  }

  /** The image's ARN (`Fn::GetAtt ImageArn`). */
  public get imageArn(): string {
    return this.getAttString('ImageArn');
  }
}
