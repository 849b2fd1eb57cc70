// The binary behind CDK's Provider framework, unmodified: the framework's own
// runtime (onEvent, isComplete, onTimeout of the pinned aws-cdk-lib) invokes
// the real binary through the Lambda stand-in, starts its waiter on the Step
// Functions stand-in, and PUTs its answer to the receiver over TLS; this suite
// plays CloudFormation and the waiter. Each test reads what CloudFormation
// would: the one answer that reached the receiver.
//   scripts/cdk-framework-test.sh
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import {
  BASE_IMAGE,
  CREATE_FAILED_PHYSICAL_ID_MARKER,
  IMAGE,
  NEXT_BASE_IMAGE,
  OTHER_IMAGE,
  executionsFor,
  failNextCreation,
  invokeCount,
  request,
  sagemakerCallCount,
  send,
  setCreateDelay,
  versionsOf,
  waiterRetry,
} from './harness.mjs';

/** The real waiter's Retry (every IntervalSeconds, MaxAttempts times), from the construct's provider. */
const retry = waiterRetry();
/** The waiter's interval, compressed: the stand-in builds a version in a fraction of a second. */
const PAUSE_MS = 50;
/** How long the stand-in builds a version: a few of the compressed intervals. */
const CREATE_MS = 300;
/** Longer than the compressed waiter runs: a version that never becomes ready. */
const NEVER_MS = 3_600_000;

const ARN = /^arn:aws:sagemaker:us-east-1:123456789012:image-version\/[a-z0-9.-]+\/[0-9]+$/;
const properties = (extra = {}) => ({ ImageName: IMAGE, BaseImage: BASE_IMAGE, ...extra });
const versionNamed = async (arn, image = IMAGE) => (await versionsOf(image)).find((v) => v.Arn === arn);

/** Sends the request, shows what CloudFormation read, and returns it. */
before(() => setCreateDelay(CREATE_MS));

async function through(t, event) {
  const result = await send(event, retry, PAUSE_MS);
  t.diagnostic(`${event.RequestType} -> ${JSON.stringify(result.answer)} (ended in ${result.waiter.ended}, isComplete x${result.waiter.attempts})`);
  return result;
}

/** A version created through the framework, for the tests that start from one. */
async function created(t, props) {
  const { answer } = await through(t, request('Create', props));
  assert.equal(answer.Status, 'SUCCESS', answer.Reason);
  return answer;
}

test('Create answers SUCCESS with the new version ARN and its attributes, once the version is CREATED', async (t) => {
  const { answer, waiter } = await through(t, request('Create', properties({ Aliases: ['create'], JobType: 'TRAINING' })));
  assert.equal(answer.Status, 'SUCCESS', answer.Reason);
  assert.match(answer.PhysicalResourceId, ARN);
  assert.equal(waiter.ended, 'isComplete');
  const version = await versionNamed(answer.PhysicalResourceId);
  assert.equal(version.Status, 'CREATED');
  assert.deepEqual(version.Aliases, ['create']);
  assert.deepEqual(answer.Data, {
    Arn: answer.PhysicalResourceId,
    ImageVersionArn: answer.PhysicalResourceId,
    ImageArn: `arn:aws:sagemaker:us-east-1:123456789012:image/${IMAGE}`,
    Version: String(version.Version),
    ContainerImage: version.ContainerImage,
  });
});

test('an in-place Update answers SUCCESS with the same ARN, and the version holds the new values', async (t) => {
  const old = properties({ Aliases: ['in-place-1'], ReleaseNotes: 'one' });
  const original = await created(t, old);
  const { answer } = await through(
    t,
    request('Update', properties({ Aliases: ['in-place-2'], ReleaseNotes: 'two' }), {
      physicalResourceId: original.PhysicalResourceId,
      oldProperties: old,
    }),
  );
  assert.equal(answer.Status, 'SUCCESS', answer.Reason);
  assert.equal(answer.PhysicalResourceId, original.PhysicalResourceId);
  assert.equal(answer.Data.Version, original.Data.Version);
  const version = await versionNamed(original.PhysicalResourceId);
  assert.deepEqual(version.Aliases, ['in-place-2']);
  assert.equal(version.ReleaseNotes, 'two');
});

test('a replacement answers SUCCESS with a new version, leaving the old one to the cleanup Delete', async (t) => {
  const original = await created(t, properties({ Aliases: ['replaced'] }));
  const { answer } = await through(
    t,
    request('Update', properties({ BaseImage: NEXT_BASE_IMAGE, Aliases: ['replaced'] }), {
      physicalResourceId: original.PhysicalResourceId,
      oldProperties: properties({ Aliases: ['replaced'] }),
    }),
  );
  assert.equal(answer.Status, 'SUCCESS', answer.Reason);
  assert.match(answer.PhysicalResourceId, ARN);
  assert.notEqual(answer.PhysicalResourceId, original.PhysicalResourceId);
  const replacement = await versionNamed(answer.PhysicalResourceId);
  assert.equal(replacement.Status, 'CREATED');
  assert.equal(replacement.BaseImage, NEXT_BASE_IMAGE);
  assert.deepEqual(replacement.Aliases, ['replaced'], 'the alias moved to the replacement');
  assert.ok(await versionNamed(original.PhysicalResourceId), 'the old version is left for the cleanup Delete');

  const cleanup = await through(t, request('Delete', properties({ Aliases: ['replaced'] }), { physicalResourceId: original.PhysicalResourceId }));
  assert.equal(cleanup.answer.Status, 'SUCCESS', cleanup.answer.Reason);
  assert.equal(await versionNamed(original.PhysicalResourceId), undefined);
});

test('Delete answers SUCCESS with the request\'s id once the version is gone', async (t) => {
  const original = await created(t, properties());
  const { answer } = await through(t, request('Delete', properties(), { physicalResourceId: original.PhysicalResourceId }));
  assert.equal(answer.Status, 'SUCCESS', answer.Reason);
  assert.equal(answer.PhysicalResourceId, original.PhysicalResourceId);
  assert.equal(await versionNamed(original.PhysicalResourceId), undefined);
});

test('bad input answers FAILED from onEvent, naming the property, with the marker id, and calls no SageMaker', async (t) => {
  const calls = await sagemakerCallCount();
  const event = request('Create', properties({ Aliasses: ['typo'] }));
  const { answer, waiter } = await through(t, event);
  assert.equal(answer.Status, 'FAILED');
  assert.match(answer.Reason, /Aliasses/);
  assert.equal(answer.PhysicalResourceId, CREATE_FAILED_PHYSICAL_ID_MARKER);
  assert.equal(waiter.ended, 'onEvent');
  assert.deepEqual(await executionsFor(event.RequestId), []);
  assert.equal(await sagemakerCallCount(), calls);
});

test('CREATE_FAILED answers FAILED with SageMaker\'s reason and the version ARN, so that the rollback Delete removes it', async (t) => {
  await failNextCreation('the base image cannot be pulled (framework suite)');
  const { answer, waiter } = await through(t, request('Create', properties()));
  assert.equal(answer.Status, 'FAILED');
  assert.match(answer.Reason, /the base image cannot be pulled \(framework suite\)/);
  assert.match(answer.PhysicalResourceId, ARN);
  assert.equal(waiter.ended, 'isComplete');
  assert.equal((await versionNamed(answer.PhysicalResourceId)).Status, 'CREATE_FAILED');

  const rollback = await through(t, request('Delete', properties(), { physicalResourceId: answer.PhysicalResourceId }));
  assert.equal(rollback.answer.Status, 'SUCCESS', rollback.answer.Reason);
  assert.equal(await versionNamed(answer.PhysicalResourceId), undefined);
});

test('three versions of one image created at once all answer SUCCESS, each with a version of its own', async (t) => {
  const results = await Promise.all(
    ['queue-1', 'queue-2', 'queue-3'].map((alias) =>
      through(t, request('Create', properties({ Aliases: [alias] }), { logicalId: alias.replace('-', '') })),
    ),
  );
  for (const { answer } of results) {
    assert.equal(answer.Status, 'SUCCESS', answer.Reason);
  }
  const arns = results.map(({ answer }) => answer.PhysicalResourceId);
  assert.equal(new Set(arns).size, 3);
  for (const arn of arns) {
    assert.equal((await versionNamed(arn)).Status, 'CREATED');
  }
});

test('a version that never becomes ready ends in onTimeout: FAILED "Operation timed out" with its ARN, after every attempt of the waiter', async (t) => {
  await setCreateDelay(NEVER_MS);
  try {
    const { answer, waiter } = await through(t, request('Create', properties({ ImageName: OTHER_IMAGE })));
    assert.equal(waiter.ended, 'onTimeout');
    assert.equal(waiter.attempts, 1 + retry.MaxAttempts);
    assert.equal(answer.Status, 'FAILED');
    assert.equal(answer.Reason, 'Operation timed out');
    assert.match(answer.PhysicalResourceId, ARN, 'the rollback Delete can remove it');
    assert.equal((await versionNamed(answer.PhysicalResourceId, OTHER_IMAGE)).Status, 'CREATING');
  } finally {
    await setCreateDelay(CREATE_MS);
  }
});

test('Delete of the framework\'s CREATE_FAILED marker answers SUCCESS without running the function', async (t) => {
  const invokes = await invokeCount();
  const { answer, waiter } = await through(
    t,
    request('Delete', properties(), { physicalResourceId: CREATE_FAILED_PHYSICAL_ID_MARKER }),
  );
  assert.equal(answer.Status, 'SUCCESS');
  assert.equal(answer.PhysicalResourceId, CREATE_FAILED_PHYSICAL_ID_MARKER);
  assert.equal(waiter.ended, 'onEvent');
  assert.equal(await invokeCount(), invokes);
});

// Last: until the rule holds, it leaves a version of IMAGE CREATING for good.
test('a replacement that never becomes ready answers FAILED with the old ARN, and leaves no new version behind', { todo: 'provider mode does not yet bound a replacement by the waiter\'s total timeout' }, async (t) => {
  const stalledBaseImage = NEXT_BASE_IMAGE.replace(/:[^:]+$/, ':never-ready');
  const original = await created(t, properties());
  await setCreateDelay(NEVER_MS);
  try {
    const { answer } = await through(
      t,
      request('Update', properties({ BaseImage: stalledBaseImage }), {
        physicalResourceId: original.PhysicalResourceId,
        oldProperties: properties(),
      }),
    );
    assert.equal(answer.Status, 'FAILED');
    assert.equal(answer.PhysicalResourceId, original.PhysicalResourceId);
    const left = (await versionsOf()).filter((v) => v.BaseImage === stalledBaseImage && v.Status !== 'DELETING');
    assert.deepEqual(left, [], 'CloudFormation never hears of the new version: it must not stay');
  } finally {
    await setCreateDelay(CREATE_MS);
  }
});
