import { describe, expect, it } from 'vitest';
import { formatGrades, grade, type VitestReport } from '../grade.js';

const report: VitestReport = {
  testResults: [
    {
      name: '/ws/labs/01-ingest/test/track.test.ts',
      assertionResults: [
        { fullName: 'POST /track acks with 202 only once the event is in Kafka', title: 'acks with 202 only once the event is in Kafka', status: 'failed', failureMessages: ['\u001b[31mAssertionError: expected 500 to be 202\u001b[39m\n    at track.test.ts:22'] },
        { fullName: 'POST /track keeps order', title: 'keeps order', status: 'passed' },
        { fullName: 'POST /track answers bad input', title: 'answers bad input', status: 'passed' },
      ],
    },
  ],
};
const checkpoints = [
  { id: 'ack', tests: [{ file: 'labs/01-ingest/test/track.test.ts', title: 'keeps order' }, { file: 'labs/01-ingest/test/track.test.ts', title: 'acks with 202' }] },
  { id: 'bad-input', tests: [{ file: 'labs/01-ingest/test/track.test.ts', title: 'answers bad input' }] },
  { id: 'missing', tests: [{ file: 'labs/01-ingest/test/nginx.test.ts', title: 'round-robins' }] },
];

describe('grade', () => {
  it('passes a checkpoint only when every one of its tests ran and passed, and names the first that did not', () => {
    const grades = grade(checkpoints, report, '/ws');
    expect(grades.map((g) => [g.checkpoint, g.passed, g.total])).toEqual([['ack', 1, 2], ['bad-input', 1, 1], ['missing', 0, 1]]);
    expect(grades[0]!.firstFailure).toEqual({ test: 'acks with 202 only once the event is in Kafka', reason: 'AssertionError: expected 500 to be 202' });
    expect(grades[2]!.firstFailure).toEqual({ test: 'round-robins', reason: 'its test file did not run' });
  });

  it('prints one line per checkpoint in the given order, with the first failure and the first hint', () => {
    const text = formatGrades('01', grade(checkpoints, report, '/ws'), (c) => (c === 'ack' ? 'await the ack' : undefined));
    expect(text.split('\n')).toEqual([
      '01 ack        FAIL  1/2 tests',
      '     first failure: acks with 202 only once the event is in Kafka',
      '       AssertionError: expected 500 to be 202',
      '     hint: await the ack',
      '01 bad-input  PASS  1/1 tests',
      '01 missing    FAIL  0/1 tests',
      '     first failure: round-robins',
      '       its test file did not run',
      '1 of 3 checkpoints pass',
    ]);
  });
});
