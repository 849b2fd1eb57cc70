import { Duration, Stack } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ImageVersionFunction, ProviderFramework } from './function';

/**
 * One CDK Provider per stack for Custom::SageMakerImageVersion: the function
 * with `PROVIDER_FRAMEWORK=cdk` as both `onEvent` and `isComplete` handler,
 * behind CDK's framework functions and its Step Functions waiter.
 * {@link SageMakerImageVersion} uses it unless given a `serviceToken`.
 */
export class ImageVersionProvider extends Construct {
  /**
   * The function's timeout as the framework's handler: an `onEvent` may wait
   * for another version of the image to finish; an `isComplete` is one poll.
   */
  public static readonly USER_HANDLER_TIMEOUT: Duration = Duration.minutes(5);

  /** How often the framework's waiter asks `isComplete`: a version builds in minutes. */
  public static readonly QUERY_INTERVAL: Duration = Duration.seconds(20);

  /** How long the waiter asks before the framework's `onTimeout` answers FAILED (the framework allows 1 h at most). */
  public static readonly TOTAL_TIMEOUT: Duration = Duration.minutes(40);

  /**
   * When the function's `isComplete` gives up: two polls before the waiter
   * does, so that it fails with a Reason and deletes a replacement's new
   * version, which the framework's own timeout would leave behind.
   */
  public static readonly GIVE_UP: Duration = Duration.seconds(
    ImageVersionProvider.TOTAL_TIMEOUT.toSeconds() - 2 * ImageVersionProvider.QUERY_INTERVAL.toSeconds(),
  );

  /**
   * What CloudFormation must wait, at least, for an answer through the
   * framework: one `onEvent`, the waiter's total timeout, and its last
   * `isComplete`.
   */
  public static readonly FRAMEWORK_NEEDS: Duration = Duration.seconds(
    2 * ImageVersionProvider.USER_HANDLER_TIMEOUT.toSeconds() + ImageVersionProvider.TOTAL_TIMEOUT.toSeconds(),
  );

  /** The resources' default `serviceTimeout` through the provider: CloudFormation's maximum, above FRAMEWORK_NEEDS. */
  public static readonly DEFAULT_SERVICE_TIMEOUT: Duration = Duration.hours(1);

  /** The stack's provider, created on first use. */
  public static of(scope: Construct): ImageVersionProvider {
    const stack = Stack.of(scope);
    const id = 'SageMakerImageVersionProvider';
    return (stack.node.tryFindChild(id) as ImageVersionProvider | undefined) ?? new ImageVersionProvider(stack, id);
  }

  /** The ServiceToken of the resources: the framework's `onEvent` function. */
  public readonly serviceToken: string;

  /** The function the framework calls. */
  public readonly handler: ImageVersionFunction;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    this.handler = new ImageVersionFunction(this, 'Handler', {
      framework: ProviderFramework.CDK,
      timeout: ImageVersionProvider.USER_HANDLER_TIMEOUT,
      environment: { PROVIDER_GIVE_UP_SECONDS: String(ImageVersionProvider.GIVE_UP.toSeconds()) },
    });
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: this.handler.function,
      isCompleteHandler: this.handler.function,
      queryInterval: ImageVersionProvider.QUERY_INTERVAL,
      totalTimeout: ImageVersionProvider.TOTAL_TIMEOUT,
    });
    this.serviceToken = provider.serviceToken;
  }
}
