// What the framework suite plays and reads: CloudFormation's requests, Step
// Functions' waiter, and the stand-ins of a `standins serve` (their admin
// routes). scripts/cdk-framework-test.sh starts the stand-ins and hands their
// URLs over in STANDINS ("sagemaker=URL receiver=URL lambda=URL sfn=URL") with
// their CA in NODE_EXTRA_CA_CERTS, and where the framework's log goes in
// FRAMEWORK_LOG.
import assert from 'node:assert/strict';
import { Console } from 'node:console';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { setTimeout as sleep } from 'node:timers/promises';

const require = createRequire(import.meta.url);
const runtimeDir = path.join(
  path.dirname(require.resolve('aws-cdk-lib')),
  'custom-resources/lib/provider-framework/runtime',
);
/** The framework's runtime as the pinned aws-cdk-lib ships it: onEvent, isComplete, onTimeout. */
export const framework = require(path.join(runtimeDir, 'framework.js'));
const consts = require(path.join(runtimeDir, 'consts.js'));
/** The id the framework answers for a Create that failed before any id existed. */
export const { CREATE_FAILED_PHYSICAL_ID_MARKER } = require(path.join(runtimeDir, 'cfn-response.js'));

const REGION = 'us-east-1';
const ACCOUNT = '123456789012';
/** The function `standins serve --function` runs, as Lambda's Invoke API knows it. */
const USER_FUNCTION_ARN = `arn:aws:lambda:${REGION}:${ACCOUNT}:function:sagemaker-image-version`;
const STATE_MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT}:stateMachine:waiter`;
const STACK_ID = `arn:aws:cloudformation:${REGION}:${ACCOUNT}:stack/framework-suite/0d5e2a10-0000-4000-8000-000000000000`;
/** Images the local stand-in knows (standins/src/local.rs). */
export const IMAGE = 'demo-image';
export const OTHER_IMAGE = 'handmade-image';
export const BASE_IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/repo:1.0`;
export const NEXT_BASE_IMAGE = `${ACCOUNT}.dkr.ecr.${REGION}.amazonaws.com/repo:2.0`;

/** The stand-ins' URLs, by name. */
export const standins = Object.fromEntries(
  (process.env.STANDINS ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split('=', 2)),
);
for (const name of ['sagemaker', 'receiver', 'lambda', 'sfn']) {
  assert.ok(standins[name], `STANDINS has no ${name}=URL: run scripts/cdk-framework-test.sh`);
}
// The framework logs every step with console.log: to its own file, not the test report.
assert.ok(process.env.FRAMEWORK_LOG, 'FRAMEWORK_LOG names the file for the framework\'s log');
console.log = new Console(fs.createWriteStream(process.env.FRAMEWORK_LOG, { flags: 'a' })).log;

const receiverUrl = new URL(standins.receiver);
// cfn-response.js PUTs to the ResponseURL's host on port 443.
assert.equal(receiverUrl.protocol, 'https:');
assert.equal(receiverUrl.port, '', 'the receiver listens on 443');

// The framework's environment, as the Provider construct sets it, against the stand-ins.
Object.assign(process.env, {
  AWS_REGION: REGION,
  AWS_ACCESS_KEY_ID: 'AKIDFRAMEWORKSUITE',
  AWS_SECRET_ACCESS_KEY: 'framework-suite-secret',
  AWS_ENDPOINT_URL_LAMBDA: standins.lambda,
  AWS_ENDPOINT_URL_SFN: standins.sfn,
  [consts.USER_ON_EVENT_FUNCTION_ARN_ENV]: USER_FUNCTION_ARN,
  [consts.USER_IS_COMPLETE_FUNCTION_ARN_ENV]: USER_FUNCTION_ARN,
  [consts.WAITER_STATE_MACHINE_ARN_ENV]: STATE_MACHINE_ARN,
});

async function admin(base, method, route) {
  const response = await fetch(new URL(route, base), { method });
  const text = await response.text();
  assert.ok(response.ok, `${method} ${route}: HTTP ${response.status} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

/** Every PUT the receiver got for this request: CloudFormation's view of the answers. */
export async function answersTo(requestId) {
  const puts = await admin(standins.receiver, 'GET', '/_receiver/puts');
  return puts.filter((p) => p.Path.endsWith(requestId)).map((p) => JSON.parse(p.Body));
}

/** The waiter executions started for this request (their inputs, parsed). */
export async function executionsFor(requestId) {
  const executions = await admin(standins.sfn, 'GET', '/_sfn/executions');
  return executions
    .filter((e) => e.stateMachineArn === STATE_MACHINE_ARN)
    .map((e) => JSON.parse(e.input))
    .filter((input) => input.RequestId === requestId);
}

/** How many times the user function was invoked, all requests together. */
export async function invokeCount() {
  return (await admin(standins.lambda, 'GET', '/_lambda/invokes')).length;
}

/** How many calls the SageMaker stand-in got. */
export async function sagemakerCallCount() {
  return (await admin(standins.sagemaker, 'GET', '/_standin/calls')).length;
}

/** The stand-in's versions of `image` (VersionView: Version, Status, Aliases, BaseImage...). */
export async function versionsOf(image = IMAGE) {
  return admin(standins.sagemaker, 'GET', `/_standin/versions?image=${encodeURIComponent(image)}`);
}

/** The next version created ends CREATE_FAILED with `reason`. */
export async function failNextCreation(reason) {
  await admin(standins.sagemaker, 'POST', `/_standin/fail-next-creation?reason=${encodeURIComponent(reason)}`);
}

/** Versions created from now on stay CREATING for `ms`. */
export async function setCreateDelay(ms) {
  await admin(standins.sagemaker, 'POST', `/_standin/create-delay?ms=${ms}`);
}

/** A CloudFormation request to the framework's onEvent, as CloudFormation sends it. */
export function request(requestType, properties, { physicalResourceId, oldProperties, logicalId = 'ImageVersion' } = {}) {
  const requestId = randomUUID();
  const key = `${encodeURIComponent(STACK_ID)}%7C${logicalId}%7C${requestId}`;
  const query = 'X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20260101T000000Z&X-Amz-Expires=7200&X-Amz-Signature=0123abcd';
  return {
    RequestType: requestType,
    ServiceToken: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:framework-onEvent`,
    ResponseURL: `${receiverUrl.origin}/cloudformation-custom-resource-response-useast1/${key}?${query}`,
    StackId: STACK_ID,
    RequestId: requestId,
    LogicalResourceId: logicalId,
    ResourceType: 'Custom::SageMakerImageVersion',
    ...(physicalResourceId === undefined ? {} : { PhysicalResourceId: physicalResourceId }),
    ResourceProperties: { ServiceToken: 'token', ServiceTimeout: '3600', ...properties },
    ...(oldProperties === undefined ? {} : { OldResourceProperties: { ServiceToken: 'token', ...oldProperties } }),
  };
}

/**
 * The waiter's Retry as CDK synthesizes it for the construct's provider: the
 * attempts a real waiter makes. Read from a stack synthesized here, with the
 * installed construct library (cdk-sagemaker-image-version).
 */
export function waiterRetry() {
  const { App, Stack } = require('aws-cdk-lib');
  const { Template } = require('aws-cdk-lib/assertions');
  const { SageMakerImageVersion } = require('cdk-sagemaker-image-version');
  const stack = new Stack(new App(), 'Waiter');
  new SageMakerImageVersion(stack, 'V', { image: IMAGE, baseImage: BASE_IMAGE });
  const [machine] = Object.values(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'));
  const [, parts] = machine.Properties.DefinitionString['Fn::Join'];
  const definition = JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'ARN')).join(''));
  return definition.States['framework-isComplete-task'].Retry[0];
}

/** How the Lambda service reports a Node handler's error to Step Functions (States.TaskFailed's Cause). */
function lambdaErrorCause(error) {
  return JSON.stringify({
    errorType: error.name,
    errorMessage: error.message,
    trace: String(error.stack).split('\n'),
  });
}

/**
 * Plays the waiter state machine on one execution's input: isComplete, then on
 * any error up to MaxAttempts retries, then onTimeout with the last error, as
 * Step Functions' Retry and Catch do. The interval is compressed to `pauseMs`.
 * Until the framework answers, nothing may reach the receiver: a PUT then would
 * be the function's. Returns what ended it and how many times isComplete ran.
 */
async function playWaiter(input, { IntervalSeconds, MaxAttempts, BackoffRate }, pauseMs) {
  assert.equal(BackoffRate, 1);
  assert.ok(IntervalSeconds > 0);
  let lastError;
  for (let attempt = 1; attempt <= 1 + MaxAttempts; attempt++) {
    if (attempt > 1) await sleep(pauseMs);
    try {
      await framework.isComplete(structuredClone(input));
      return { ended: 'isComplete', attempts: attempt };
    } catch (e) {
      lastError = e;
    }
    assert.deepEqual(await answersTo(input.RequestId), [], `a PUT before the framework answered (isComplete ${attempt})`);
  }
  await framework.onTimeout({ Error: lastError.name, Cause: lambdaErrorCause(lastError) });
  return { ended: 'onTimeout', attempts: 1 + MaxAttempts };
}

/**
 * One request through the framework, as CloudFormation and Step Functions run
 * it: onEvent, then the waiter on the execution it started (if any). Returns
 * the one answer CloudFormation reads, and the waiter's end.
 */
export async function send(event, retry, pauseMs) {
  await framework.onEvent(structuredClone(event));
  const executions = await executionsFor(event.RequestId);
  assert.ok(executions.length <= 1, `${executions.length} waiter executions`);
  let waiter = { ended: 'onEvent', attempts: 0 };
  if (executions.length === 1) {
    assert.deepEqual(await answersTo(event.RequestId), [], 'a PUT before the framework answered (onEvent)');
    waiter = await playWaiter(executions[0], retry, pauseMs);
  }
  const answers = await answersTo(event.RequestId);
  assert.equal(answers.length, 1, `CloudFormation got ${answers.length} answers: ${JSON.stringify(answers)}`);
  return { answer: answers[0], waiter };
}
