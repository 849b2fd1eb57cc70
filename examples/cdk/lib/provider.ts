import { Duration, Stack } from 'aws-cdk-lib';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { ImageVersionFunction } from './function';

/**
 * The binary's timeout as the framework's user handler: an onEvent may wait
 * for another version of the image to finish; an isComplete is one poll.
 */
export const USER_HANDLER_TIMEOUT = Duration.minutes(5);
/** How often the framework's waiter asks isComplete: a version builds in minutes. */
export const QUERY_INTERVAL = Duration.seconds(20);
/** How long the waiter asks before onTimeout answers FAILED (the framework allows 1 h at most). */
export const TOTAL_TIMEOUT = Duration.minutes(40);

/** When the binary's isComplete gives up: two polls before the waiter's totalTimeout. */
export const GIVE_UP = Duration.seconds(TOTAL_TIMEOUT.toSeconds() - 2 * QUERY_INTERVAL.toSeconds());
/**
 * What CloudFormation must wait, at least, for an answer through the framework:
 * one onEvent, the waiter's total timeout, and its last isComplete.
 */
export const FRAMEWORK_NEEDS = Duration.seconds(
  USER_HANDLER_TIMEOUT.toSeconds() + TOTAL_TIMEOUT.toSeconds() + USER_HANDLER_TIMEOUT.toSeconds(),
);
/** The resources' default ServiceTimeout in provider mode: CloudFormation's maximum, above FRAMEWORK_NEEDS. */
export const PROVIDER_SERVICE_TIMEOUT = Duration.hours(1);

/**
 * One CDK Provider per stack for Custom::SageMakerImageVersion: the binary with
 * PROVIDER_FRAMEWORK=cdk as both onEvent and isComplete handler, behind CDK's
 * framework functions and its Step Functions waiter.
 */
export class ImageVersionProvider extends Construct {
  /** The stack's provider, created on first use. */
  static of(scope: Construct): ImageVersionProvider {
    const stack = Stack.of(scope);
    const id = 'SageMakerImageVersionProvider';
    return (stack.node.tryFindChild(id) as ImageVersionProvider | undefined) ?? new ImageVersionProvider(stack, id);
  }

  /** The ServiceToken of the resources: the framework's onEvent function. */
  readonly serviceToken: string;

  private constructor(scope: Construct, id: string) {
    super(scope, id);
    const handler = new ImageVersionFunction(this, 'Handler', {
      framework: 'cdk',
      timeout: USER_HANDLER_TIMEOUT,
      // isComplete gives up two polls before the waiter does: it can then
      // fail with a Reason and delete a replacement's new version, which the
      // framework's own timeout would leave behind.
      environment: { PROVIDER_GIVE_UP_SECONDS: String(GIVE_UP.toSeconds()) },
    }).function;
    const provider = new cr.Provider(this, 'Provider', {
      onEventHandler: handler,
      isCompleteHandler: handler,
      queryInterval: QUERY_INTERVAL,
      totalTimeout: TOTAL_TIMEOUT,
    });
    this.serviceToken = provider.serviceToken;
  }
}
